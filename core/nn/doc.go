// Package nn holds the network building blocks of the core: parameters that
// outlive any one computation graph, layers that add themselves to a gorgonia
// graph, the ops gorgonia lacks (Swish), and the Adam optimiser with the
// gradient clipping of VAEBM App. E.
//
// A parameter is a *tensor.Dense owned by its module. Each graph that uses a
// module binds the same tensor to a node, so the VAE-training graph, the
// Langevin graph and the evaluation graph all see one set of weights.
package nn
