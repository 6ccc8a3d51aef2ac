// Package data provides the datasets of the experiments. Every dataset is
// deterministic given its seed.
package data
