package main

import (
	"fmt"

	"github.com/vaebm/vaebm/pipeline"
)

func cmdTable(g globals, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("table needs one table name")}
	}
	db, err := g.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	return pipeline.WriteTable(pipeline.Options{OutDir: g.out, DB: db}, args[0], pipeline.NewBar(osStdout()))
}
