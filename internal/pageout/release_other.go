//go:build !linux

package pageout

import "errors"

// release is not available: elsewhere there is no /proc/self/maps to find the mappings in.
func release(mapping) error { return errors.New("paging out the executable needs Linux") }
