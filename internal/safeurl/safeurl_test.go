package safeurl

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"http://lokiuser:LOKIPASS@127.0.0.1:43405/loki/api/v1/push?api_key=KEY&x=1": "http://lokiuser:xxxxx@127.0.0.1:43405/loki/api/v1/push?api_key=xxxxx&x=xxxxx",
		"https://es:9200":           "https://es:9200",
		"http://user@h/":            "http://user@h/",
		"http://h/%zz":              "(an unparsable URL)",
		"http://h/?token=a&token=b": "http://h/?token=xxxxx&token=xxxxx",
		// The scheme forgotten (ops15 F1).
		"elastic:Hunter2-SECRET@127.0.0.1:24001": "elastic:xxxxx@127.0.0.1:24001",
		"u:Hunter2-SECRET@h:3100?x=1":            "u:xxxxx@h:3100?x=xxxxx",
		"elastic:Hunter2-SECRET":                 "elastic:xxxxx",
		"localhost:9200":                         "localhost:9200",
		// The "//" mistyped (regress15 F7).
		"http//elastic:Hunter2@127.0.0.1:9200": "http//elastic:xxxxx@127.0.0.1:9200",
		"http:/elastic:Hunter2@127.0.0.1:9200": "http:/elastic:xxxxx@127.0.0.1:9200",
		"https:elastic:Hunter2@es:9200":        "https:xxxxx@es:9200",
		"http//u:Hunter2@h?x=1":                "http//u:xxxxx@h?x=xxxxx",
		"http://es:9200/logs@x":                "http://es:9200/logs@x",
		"http://h/a:b@c":                       "http://h/a:xxxxx@c",
	} {
		if got := String(in); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
