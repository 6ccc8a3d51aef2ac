// Package config declares the experiment schema and loads experiment YAML
// files strictly: every key must be known, every value must have the right
// type, and each error names the file, line and key. A file may extend a base
// file, pick a scale profile (quick for CPUs, paper for the paper's sizes),
// and be overridden from the command line with key=value pairs.
package config
