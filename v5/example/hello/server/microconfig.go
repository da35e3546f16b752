package main

import (
	"io"

	"go-micro.dev/v5/config"
	"go-micro.dev/v5/config/reader"
	"go-micro.dev/v5/config/source"
	"go-micro.dev/v5/logger"
)

// This file is written by hand in each hello server (the root module's,
// go-micro v4; this one, go-micro v5): the calls to go-micro's config that
// differ between the two lines. greeting.go is the same in both (this
// one's is generated from the root module's).

// configString returns the string at key in vals, def when there is none.
func configString(vals reader.Values, key, def string) string {
	v, err := vals.Get(key)
	if err != nil {
		logger.Logf(logger.WarnLevel, "hello: reading %s: %v", key, err)
		return def
	}
	return v.String(def)
}

// stopConfig stops conf (nil: never loaded) and its source src: conf's
// loader, which ends its watch of src, then src, then conf's own loop
// (conf.Close), in the order zkconfig's package documentation gives.
func stopConfig(conf config.Config, src source.Source) {
	if conf != nil {
		_ = conf.Options().Loader.Close()
	}
	_ = src.(io.Closer).Close()
	if conf != nil {
		_ = conf.Close()
	}
}
