package safeurl

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"http://lokiuser:LOKIPASS@127.0.0.1:43405/loki/api/v1/push?api_key=KEY&x=1": "http://lokiuser:xxxxx@127.0.0.1:43405/loki/api/v1/push?api_key=xxxxx&x=xxxxx",
		"https://es:9200":           "https://es:9200",
		"http://user@h/":            "http://user@h/",
		"http://h/%zz":              "(an unparsable URL)",
		"http://h/?token=a&token=b": "http://h/?token=xxxxx&token=xxxxx",
	} {
		if got := String(in); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
