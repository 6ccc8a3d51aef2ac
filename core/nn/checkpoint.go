package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/vaebm/vaebm/internal/atomicfile"
)

// checkpointMagic starts every checkpoint file; the version follows it.
const checkpointMagic = "VAEBMCKPT1"

// ErrCorruptCheckpoint is wrapped by every load error caused by file contents.
var ErrCorruptCheckpoint = errors.New("corrupt checkpoint")

// SaveParams writes ps to path atomically: a temporary file in the same
// folder, fsync, then rename, so a crash leaves either the old file or the
// new one. The file ends with the SHA-256 of everything before it.
func SaveParams(path string, ps []*Param) error {
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(uint32(len(ps)))
	for _, p := range ps {
		w(uint32(len(p.Name)))
		b.WriteString(p.Name)
		shape := p.T.Shape()
		w(uint32(len(shape)))
		for _, d := range shape {
			w(uint32(d))
		}
		for _, v := range p.Data() {
			w(math.Float32bits(v))
		}
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return atomicfile.WriteBytes(path, b.Bytes())
}

// LoadParams reads a checkpoint written by SaveParams into ps, checking the
// checksum and that every name and shape matches.
func LoadParams(path string, ps []*Param) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("loading checkpoint: %w", err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("loading checkpoint %s: %w: %s", path, ErrCorruptCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(raw) < len(checkpointMagic)+sha256.Size || string(raw[:len(checkpointMagic)]) != checkpointMagic {
		return corrupt("not a VAEBM checkpoint (bad header)")
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return corrupt("checksum mismatch (truncated or modified file)")
	}
	r := bytes.NewReader(body[len(checkpointMagic):])
	var n uint32
	rd := func(v any) error { return binary.Read(r, binary.LittleEndian, v) }
	if err := rd(&n); err != nil || int(n) != len(ps) {
		return corrupt("holds %d parameters, the model has %d", n, len(ps))
	}
	for _, p := range ps {
		var ln uint32
		if err := rd(&ln); err != nil || int(ln) > r.Len() {
			return corrupt("truncated at parameter %s", p.Name)
		}
		name := make([]byte, ln)
		if _, err := r.Read(name); err != nil {
			return corrupt("truncated at parameter %s", p.Name)
		}
		if string(name) != p.Name {
			return corrupt("parameter %q where the model has %q", name, p.Name)
		}
		var nd uint32
		if err := rd(&nd); err != nil {
			return corrupt("truncated at parameter %s", p.Name)
		}
		shape := p.T.Shape()
		if int(nd) != len(shape) {
			return corrupt("parameter %s has %d dims, want %d", p.Name, nd, len(shape))
		}
		for _, d := range shape {
			var got uint32
			if err := rd(&got); err != nil || int(got) != d {
				return corrupt("parameter %s has shape mismatch (want %v)", p.Name, shape)
			}
		}
		data := p.Data()
		for i := range data {
			var bits uint32
			if err := rd(&bits); err != nil {
				return corrupt("truncated in parameter %s", p.Name)
			}
			data[i] = math.Float32frombits(bits)
		}
	}
	return nil
}

// stateMagic starts every training-state file.
const stateMagic = "VAEBMSTATE1"

// SaveState writes v, gob-encoded, to path the way SaveParams writes
// parameters: atomically and with a SHA-256 trailer. Trainers use it for
// everything a resumed run needs (step, optimiser moments, RNG, buffers).
func SaveState(path string, v any) error {
	var b bytes.Buffer
	b.WriteString(stateMagic)
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return atomicfile.WriteBytes(path, b.Bytes())
}

// LoadState reads a file written by SaveState into v, which must be a
// pointer to the same type; content errors wrap ErrCorruptCheckpoint.
func LoadState(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("loading training state: %w", err)
	}
	if len(raw) < len(stateMagic)+sha256.Size || string(raw[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("loading training state %s: %w: not a VAEBM state file (bad header)", path, ErrCorruptCheckpoint)
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return fmt.Errorf("loading training state %s: %w: checksum mismatch (truncated or modified file)", path, ErrCorruptCheckpoint)
	}
	if err := gob.NewDecoder(bytes.NewReader(body[len(stateMagic):])).Decode(v); err != nil {
		return fmt.Errorf("loading training state %s: %w: %v", path, ErrCorruptCheckpoint, err)
	}
	return nil
}
