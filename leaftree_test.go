package sidetrail

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// groupBoth writes leaves as appendObject does and through a leafTree.
func groupBoth(leaves []leaf) (scan, tree []byte) {
	var e JSONEncoder
	e.leaves = leaves
	e.done = make([]bool, len(leaves))
	scan = e.appendObject(nil, 0, len(leaves), "")
	tree = e.tree.append(nil, leaves)
	return scan, tree
}

// The tree groups exactly as appendObject does: nested objects at their
// first leaf's place, leaves in order, keys with a dot at either end or
// two dots in a row written as they are.
func FuzzLeafTreeGroupsAsAppendObject(f *testing.F) {
	f.Add("a.b c a.c d.e.f a d.e a..b .x y. log.file.path log.offset")
	f.Add("x.y.z x.y x x.y.w")
	f.Fuzz(func(t *testing.T, keys string) {
		var leaves []leaf
		for i, k := range strings.Fields(keys) {
			leaves = append(leaves, leaf{key: k, kind: KindInt, value: []byte(fmt.Sprint(i))})
		}
		scan, tree := groupBoth(leaves)
		if !bytes.Equal(scan, tree) {
			t.Fatalf("%q:\nappendObject %s\nleafTree     %s", keys, scan, tree)
		}
	})
}

// A record of many dotted keys was grouped in time in the square of their
// number: 87,000 of them took seconds (parser13 F7).
func TestManyNestedKeysAreLinear(t *testing.T) {
	perKey := func(n int) time.Duration {
		r := Record{Message: []byte("m")}
		for i := range n {
			r.Add(fmt.Sprintf("a.b%d.c", i), KindInt, []byte("1"))
		}
		var e JSONEncoder
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			e.Append(nil, &r)
			best = min(best, time.Since(start))
		}
		return best / time.Duration(n)
	}
	small, large := perKey(500), perKey(20000)
	if large > 8*small+100*time.Nanosecond {
		t.Fatalf("per key: %v with 500 keys, %v with 20,000", small, large)
	}
}
