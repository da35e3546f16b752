package main

import (
	"io"

	"go-micro.dev/v4/config"
	"go-micro.dev/v4/config/reader"
	"go-micro.dev/v4/config/source"
)

// This file is written by hand in each hello server (this one, go-micro
// v4; module v5's, go-micro v5): the calls to go-micro's config that
// differ between the two lines. greeting.go is the same in both (module
// v5's is generated from this one).

// configString returns the string at key in vals, def when there is none.
func configString(vals reader.Values, key, def string) string {
	return vals.Get(key).String(def)
}

// stopConfig stops conf (nil: never loaded) and its source src: conf's
// loader, which ends its watch of src, then src. Not conf.Close: go-micro
// v4.11.0's crashes the process (see zkconfig's package documentation).
func stopConfig(conf config.Config, src source.Source) {
	if conf != nil {
		_ = conf.Options().Loader.Close()
	}
	_ = src.(io.Closer).Close()
}
