package bench

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/vaebm/vaebm/core/nn"
)

// TwinCase is what a workload's PyTorch twin (bench/twins.py) checks itself
// against before it is timed: our weights, inputs and outputs for them, and
// our count of trained parameters. A twin that loads the weights by name,
// has as many parameters and reproduces the outputs computes what ours
// does, so the two times compare like with like.
type TwinCase struct {
	Workload string
	Params   int // trained parameters (buffers not counted)
	Tensors  []TwinTensor
}

// TwinTensor is one named tensor of a case. Kind is "param" (trained),
// "buffer" (loaded, not trained: spectral norm's u and v), "input" or
// "output" (ours, for the twin to reproduce).
type TwinTensor struct {
	Name, Kind string
	Shape      []int
	Data       []float32
}

// addParams adds ps, as params or buffers.
func (c *TwinCase) addParams(ps ...*nn.Param) {
	for _, p := range ps {
		kind := "param"
		if p.Buffer {
			kind = "buffer"
		} else {
			c.Params += len(p.Data())
		}
		c.Tensors = append(c.Tensors, TwinTensor{Name: p.Name, Kind: kind, Shape: p.T.Shape().Clone(), Data: append([]float32(nil), p.Data()...)})
	}
}

func (c *TwinCase) add(kind, name string, data []float32, shape ...int) {
	c.Tensors = append(c.Tensors, TwinTensor{Name: name, Kind: kind, Shape: shape, Data: append([]float32(nil), data...)})
}

// Write stores the case as dir/WORKLOAD.json, a header listing each
// tensor's name, kind, shape and offset (in float32s) into
// dir/WORKLOAD.bin, the little-endian float32 data of all of them.
func (c TwinCase) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	type entry struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Shape  []int  `json:"shape"`
		Offset int    `json:"offset"`
	}
	head := struct {
		Workload string  `json:"workload"`
		Params   int     `json:"params"`
		Tensors  []entry `json:"tensors"`
	}{Workload: c.Workload, Params: c.Params}
	var raw []byte
	off := 0
	for _, t := range c.Tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("twin case %s: tensor %s has %d values for shape %v", c.Workload, t.Name, len(t.Data), t.Shape)
		}
		head.Tensors = append(head.Tensors, entry{t.Name, t.Kind, t.Shape, off})
		for _, v := range t.Data {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		off += n
	}
	js, err := json.MarshalIndent(head, "", " ")
	if err != nil {
		return err
	}
	base := filepath.Join(dir, c.Workload)
	if err := os.WriteFile(base+".bin", raw, 0o644); err != nil {
		return err
	}
	return os.WriteFile(base+".json", js, 0o644)
}
