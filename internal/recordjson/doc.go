// Package recordjson reads back, for tests, the JSON that
// sidetrail.JSONEncoder writes for a record: each leaf by its dotted path,
// with an object that holds one key twice reported as an error (what
// Elasticsearch would reject).
//
// It owns no production code path and must never be imported by one.
package recordjson
