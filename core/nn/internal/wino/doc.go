// Package wino holds the AVX kernels of core/nn's Winograd convolution
// transforms. They live apart because core/nn uses cgo (OpenBLAS), and a
// cgo package cannot hold Go assembly. The kernels work on raw pointers
// and trust their callers (nn.winoInTiles, nn.winoOutTiles) to have
// checked the buffers' lengths.
package wino
