package main

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// decodeTable sets the fields of the struct v from a TOML table decoded into generic values,
// reporting every unknown key and every value of the wrong type through bad (in our words:
// "a number, got the string "587""), and going on with the rest, so that one mistake hides
// no other. A field keeps its default when its value is refused.
//
// It handles the kinds [Config] uses: strings, ints, bools, lists of strings, [duration]
// (any encoding.TextUnmarshaler) and nested tables; TestConfigFieldKindsAreDecoded keeps it
// so when a field is added.
func decodeTable(v reflect.Value, table map[string]any, prefix string, bad func(key, msg string)) {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := prefix + k
		f, ok := fieldByTag(v, k)
		if !ok {
			bad(key, "unknown key"+suggest(key))
			continue
		}
		decodeValue(f, table[k], key, bad)
	}
}

// fieldByTag returns the field of struct v whose toml tag is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if t.Field(i).IsExported() && tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func decodeValue(f reflect.Value, val any, key string, bad func(key, msg string)) {
	if reflect.PointerTo(f.Type()).Implements(textUnmarshaler) {
		s, ok := val.(string)
		if !ok {
			bad(key, "a duration in double quotes such as \"30s\", \"15m\" or \"1h\", got "+describe(val))
			return
		}
		if err := f.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			bad(key, err.Error())
		}
		return
	}
	switch f.Kind() {
	case reflect.Struct:
		t, ok := val.(map[string]any)
		if !ok {
			bad(key, fmt.Sprintf("a table ([%s]), got %s", key, describe(val)))
			return
		}
		decodeTable(f, t, key+".", bad)
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			bad(key, "text in double quotes, got "+describe(val))
			return
		}
		f.SetString(s)
	case reflect.Int:
		n, ok := val.(int64)
		switch {
		case !ok:
			msg := "a number, got " + describe(val)
			if _, isString := val.(string); isString {
				msg += " (write numbers without quotes)"
			}
			bad(key, msg)
		case n < math.MinInt32 || n > math.MaxInt32:
			bad(key, fmt.Sprintf("%d is out of range", n))
		default:
			f.SetInt(n)
		}
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			bad(key, "true or false (without quotes), got "+describe(val))
			return
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			bad(key, "cannot be read: resetgate does not decode "+f.Type().String())
			return
		}
		list, ok := val.([]any)
		if !ok {
			bad(key, fmt.Sprintf("a list of strings such as [\"a\", \"b\"], got %s", describe(val)))
			return
		}
		out := make([]string, len(list))
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				bad(key, fmt.Sprintf("a list of strings, but item %d is %s", i+1, describe(item)))
				return
			}
			out[i] = s
		}
		f.Set(reflect.ValueOf(out))
	default:
		bad(key, "cannot be read: resetgate does not decode "+f.Type().String())
	}
}

// describe names a decoded TOML value for a message: `the string "587"`, `the number 3`.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the number %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%t", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}
