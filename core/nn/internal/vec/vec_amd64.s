//go:build amd64 && !purego

#include "textflag.h"

// V8 defines name<> as 8 copies of the 32-bit value v: a ymm memory operand.
#define V8(name, v) \
	DATA name<>+0(SB)/4, v; DATA name<>+4(SB)/4, v; \
	DATA name<>+8(SB)/4, v; DATA name<>+12(SB)/4, v; \
	DATA name<>+16(SB)/4, v; DATA name<>+20(SB)/4, v; \
	DATA name<>+24(SB)/4, v; DATA name<>+28(SB)/4, v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// The constants of nn.exp32 (float32 bits).
V8(expHi, $0x42b17217)    // 88.72283: above it e^x is +Inf
V8(expLo, $0xc2aeac4f)    // -87.33654: below it e^x is 0
V8(log2e, $0x3fb8aa3b)    // log₂e
V8(magic, $0x4b400000)    // 1.5·2²³: adding it rounds to an integer
V8(ln2hi, $0x3f318000)    // ln 2, high part (9 bits: k·ln2hi is exact)
V8(ln2lo, $0xb95e8083)    // ln 2 − ln2hi
V8(c720, $0x3ab60b61)     // 1/720
V8(c120, $0x3c088889)     // 1/120
V8(c24, $0x3d2aaaab)      // 1/24
V8(c6, $0x3e2aaaab)       // 1/6
V8(c2, $0x3f000000)       // 1/2
V8(one, $0x3f800000)      // 1
V8(inf, $0x7f800000)      // +Inf
V8(sign, $0x80000000)     // sign bit

// iota<> is 0, 1, …, 7 (int32): lane i of a tail of r elements is live
// when r > i.
DATA iota<>+0(SB)/4, $0
DATA iota<>+4(SB)/4, $1
DATA iota<>+8(SB)/4, $2
DATA iota<>+12(SB)/4, $3
DATA iota<>+16(SB)/4, $4
DATA iota<>+20(SB)/4, $5
DATA iota<>+24(SB)/4, $6
DATA iota<>+28(SB)/4, $7
GLOBL iota<>(SB), RODATA|NOPTR, $32

// TAILMASK sets lane i of Y to all ones when i < CX (the tail's length).
#define TAILMASK(Y) \
	VMOVD    CX, X1; \
	VPBROADCASTD X1, Y; \
	VPCMPGTD iota<>(SB), Y, Y

// SWISH computes, from z in Y0, σ(z) = 1/(1 + e^−z) in Y6 and
// scale·z·σ(z) in Y7, with e^u (u = −z) as nn.exp32 computes it: clamp u
// to [expLo, expHi] (NaN passes), t = u·log2e + magic, k = bits(t) −
// bits(magic), fk = t − magic, r = u − fk·ln2hi − fk·ln2lo, p = the
// degree-6 Taylor polynomial of e^r, e = p·2^k by adding k to p's exponent
// (p·2^k is normal for every clamped u, so this is exact), then +Inf above
// expHi and 0 below expLo. Y0 is kept; Y1–Y7 are scratch.
// Constants: Y8 expLo, Y9 expHi, Y10 log2e, Y11 magic, Y12 one, Y13 scale,
// Y14 ln2hi, Y15 ln2lo.
#define SWISH \
	VXORPS       sign<>(SB), Y0, Y1; \
	VMAXPS       Y1, Y8, Y2; \
	VMINPS       Y2, Y9, Y2; \
	VMULPS       Y10, Y2, Y3; \
	VADDPS       Y11, Y3, Y3; \
	VSUBPS       Y11, Y3, Y4; \
	VPSUBD       Y11, Y3, Y3; \
	VPSLLD       $23, Y3, Y3; \
	VFNMADD231PS Y14, Y4, Y2; \
	VFNMADD231PS Y15, Y4, Y2; \
	VMOVUPS      c720<>(SB), Y5; \
	VFMADD213PS  c120<>(SB), Y2, Y5; \
	VFMADD213PS  c24<>(SB), Y2, Y5; \
	VFMADD213PS  c6<>(SB), Y2, Y5; \
	VFMADD213PS  c2<>(SB), Y2, Y5; \
	VFMADD213PS  Y12, Y2, Y5; \
	VFMADD213PS  Y12, Y2, Y5; \
	VPADDD       Y3, Y5, Y5; \
	VCMPPS       $0x1e, Y9, Y1, Y6; \
	VCMPPS       $0x11, Y8, Y1, Y7; \
	VBLENDVPS    Y6, inf<>(SB), Y5, Y5; \
	VANDNPS      Y5, Y7, Y5; \
	VADDPS       Y12, Y5, Y5; \
	VDIVPS       Y5, Y12, Y6; \
	VMULPS       Y13, Y0, Y7; \
	VMULPS       Y6, Y7, Y7

// func Swish(x, pre, sig, y *float32, n int, scale float32)
TEXT ·Swish(SB), NOSPLIT, $0-44
	MOVQ         x+0(FP), SI
	MOVQ         pre+8(FP), R8
	MOVQ         sig+16(FP), R9
	MOVQ         y+24(FP), DI
	MOVQ         n+32(FP), CX
	VBROADCASTSS scale+40(FP), Y13
	VMOVUPS      expLo<>(SB), Y8
	VMOVUPS      expHi<>(SB), Y9
	VMOVUPS      log2e<>(SB), Y10
	VMOVUPS      magic<>(SB), Y11
	VMOVUPS      one<>(SB), Y12
	VMOVUPS      ln2hi<>(SB), Y14
	VMOVUPS      ln2lo<>(SB), Y15

loop:
	CMPQ    CX, $8
	JLT     tail
	VMOVUPS (SI), Y0
	SWISH
	TESTQ   R8, R8
	JZ      nopre
	VMOVUPS Y0, (R8)
	ADDQ    $32, R8

nopre:
	VMOVUPS Y6, (R9)
	VMOVUPS Y7, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R9
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop

tail:
	TESTQ      CX, CX
	JZ         done
	TAILMASK(Y1)
	VMASKMOVPS (SI), Y1, Y0
	SWISH
	TAILMASK(Y1)
	VMASKMOVPS Y6, Y1, (R9)
	VMASKMOVPS Y7, Y1, (DI)
	TESTQ      R8, R8
	JZ         done
	VMASKMOVPS Y0, Y1, (R8)

done:
	VZEROUPPER
	RET

// func SwishGrad(gy, pre, sig, dz *float32, n int, scale float32)
// dz = (g·scale)·(s + (pre·s)·(1 − s)): Y0 g·scale, Y1 pre, Y2 s, Y3 1 − s.
#define SWISHGRAD \
	VMULPS Y13, Y0, Y0; \
	VMULPS Y2, Y1, Y1; \
	VSUBPS Y2, Y12, Y3; \
	VMULPS Y3, Y1, Y1; \
	VADDPS Y1, Y2, Y1; \
	VMULPS Y1, Y0, Y0

TEXT ·SwishGrad(SB), NOSPLIT, $0-44
	MOVQ         gy+0(FP), SI
	MOVQ         pre+8(FP), R8
	MOVQ         sig+16(FP), R9
	MOVQ         dz+24(FP), DI
	MOVQ         n+32(FP), CX
	VBROADCASTSS scale+40(FP), Y13
	VMOVUPS      one<>(SB), Y12

gloop:
	CMPQ    CX, $8
	JLT     gtail
	VMOVUPS (SI), Y0
	VMOVUPS (R8), Y1
	VMOVUPS (R9), Y2
	SWISHGRAD
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     gloop

gtail:
	TESTQ      CX, CX
	JZ         gdone
	TAILMASK(Y4)
	VMASKMOVPS (SI), Y4, Y0
	VMASKMOVPS (R8), Y4, Y1
	VMASKMOVPS (R9), Y4, Y2
	SWISHGRAD
	VMASKMOVPS Y0, Y4, (DI)

gdone:
	VZEROUPPER
	RET

// signd<> is the float64 sign bit in four lanes.
DATA signd<>+0(SB)/8, $0x8000000000000000
DATA signd<>+8(SB)/8, $0x8000000000000000
DATA signd<>+16(SB)/8, $0x8000000000000000
DATA signd<>+24(SB)/8, $0x8000000000000000
GLOBL signd<>(SB), RODATA|NOPTR, $32

// Offsets of AdamConsts' fields.
#define A_WD 0
#define A_CLIP 32
#define A_B1 64
#define A_OB1 96
#define A_B2 128
#define A_OB2 160
#define A_C1 192
#define A_C2 224
#define A_C2P 256
#define A_LR 288
#define A_EPS 320
#define A_CLIPON 352

// func Adam(w, grad, m, v *float32, n int, k *AdamConsts)
TEXT ·Adam(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), DX
	MOVQ A_CLIPON(DX), R10

aloop:
	CMPQ      CX, $4
	JLT       adone
	VCVTPS2PD (SI), Y0            // g
	VCVTPS2PD (DI), Y1            // w
	VMULPD    A_WD(DX), Y1, Y2    // wd·w
	VADDPD    Y2, Y0, Y0          // gj = g + wd·w
	CMPQ      R10, $0
	JEQ       anoclip
	VCVTPS2PD (R9), Y3            // v
	VDIVPD    A_C2P(DX), Y3, Y3   // v/c2prev
	VSQRTPD   Y3, Y3
	VMULPD    A_CLIP(DX), Y3, Y3  // lim = clip·sqrt(v/c2prev)
	VMINPD    Y0, Y3, Y0          // min(lim, gj): gj when either is NaN
	VXORPD    signd<>(SB), Y3, Y3 // −lim
	VMAXPD    Y0, Y3, Y0          // max(−lim, gj)

anoclip:
	VCVTPS2PD (R8), Y4            // m
	VMULPD    A_B1(DX), Y4, Y4    // b1·m
	VMULPD    A_OB1(DX), Y0, Y5   // (1−b1)·gj
	VADDPD    Y5, Y4, Y4          // mj
	VCVTPS2PD (R9), Y6            // v
	VMULPD    A_B2(DX), Y6, Y6    // b2·v
	VMULPD    A_OB2(DX), Y0, Y7   // (1−b2)·gj
	VMULPD    Y0, Y7, Y7          // ·gj
	VADDPD    Y7, Y6, Y6          // vj
	VCVTPD2PSY Y4, X2
	VMOVUPS   X2, (R8)            // m = float32(mj)
	VCVTPD2PSY Y6, X3
	VMOVUPS   X3, (R9)            // v = float32(vj)
	VDIVPD    A_C1(DX), Y4, Y4    // mj/c1
	VMULPD    A_LR(DX), Y4, Y4    // lr·(mj/c1)
	VDIVPD    A_C2(DX), Y6, Y6    // vj/c2
	VSQRTPD   Y6, Y6
	VADDPD    A_EPS(DX), Y6, Y6   // sqrt(vj/c2) + eps
	VDIVPD    Y6, Y4, Y4          // the update
	VCVTPD2PSY Y4, X4
	VMOVUPS   (DI), X5
	VSUBPS    X4, X5, X5          // w −= float32(update)
	VMOVUPS   X5, (DI)
	ADDQ      $16, DI
	ADDQ      $16, SI
	ADDQ      $16, R8
	ADDQ      $16, R9
	SUBQ      $4, CX
	JMP       aloop

adone:
	VZEROUPPER
	RET
