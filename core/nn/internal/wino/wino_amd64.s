//go:build amd64 && !purego

#include "textflag.h"

// func InAVX(p *float32, ps, gw int, v *float32, vs, n int)
//
// Planes P00 = AX, P01 = BX, P10 = DX, P11 = R11 (each advancing 32 bytes,
// 8 tiles, per step); R9 = gw in bytes shifts a plane by one row. Tile
// element d[r][c] is at P(r%2)(c%2) + (r/2)·gw + (c/2)·4. For each row k
// of Bᵀd (x = d0 − d2, d1 + d2, d2 − d1, d1 − d3, on 4 columns in
// Y0–Y3), V rows 4k…4k+3 get x0 − x2, x1 + x2, x2 − x1, x1 − x3.
TEXT ·InAVX(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), AX
	MOVQ ps+8(FP), R8
	MOVQ gw+16(FP), R9
	MOVQ v+24(FP), DI
	MOVQ vs+32(FP), R10
	MOVQ n+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	LEAQ (AX)(R8*1), BX
	LEAQ (BX)(R8*1), DX
	LEAQ (DX)(R8*1), R11
	LEAQ (R10)(R10*2), R13 // 3·vs

loop:
	CMPQ CX, $0
	JLE  done

	// k = 0: x = row0 − row2.
	VMOVUPS (AX), Y0
	VMOVUPS (BX), Y1
	VMOVUPS 4(AX), Y2
	VMOVUPS 4(BX), Y3
	VSUBPS  (AX)(R9*1), Y0, Y0
	VSUBPS  (BX)(R9*1), Y1, Y1
	VSUBPS  4(AX)(R9*1), Y2, Y2
	VSUBPS  4(BX)(R9*1), Y3, Y3
	MOVQ    DI, R12
	VSUBPS  Y2, Y0, Y4
	VADDPS  Y2, Y1, Y5
	VSUBPS  Y1, Y2, Y6
	VSUBPS  Y3, Y1, Y7
	VMOVUPS Y4, (R12)
	VMOVUPS Y5, (R12)(R10*1)
	VMOVUPS Y6, (R12)(R10*2)
	VMOVUPS Y7, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// k = 1: x = row1 + row2.
	VMOVUPS (DX), Y0
	VMOVUPS (R11), Y1
	VMOVUPS 4(DX), Y2
	VMOVUPS 4(R11), Y3
	VADDPS  (AX)(R9*1), Y0, Y0
	VADDPS  (BX)(R9*1), Y1, Y1
	VADDPS  4(AX)(R9*1), Y2, Y2
	VADDPS  4(BX)(R9*1), Y3, Y3
	VSUBPS  Y2, Y0, Y4
	VADDPS  Y2, Y1, Y5
	VSUBPS  Y1, Y2, Y6
	VSUBPS  Y3, Y1, Y7
	VMOVUPS Y4, (R12)
	VMOVUPS Y5, (R12)(R10*1)
	VMOVUPS Y6, (R12)(R10*2)
	VMOVUPS Y7, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// k = 2: x = row2 − row1.
	VMOVUPS (AX)(R9*1), Y0
	VMOVUPS (BX)(R9*1), Y1
	VMOVUPS 4(AX)(R9*1), Y2
	VMOVUPS 4(BX)(R9*1), Y3
	VSUBPS  (DX), Y0, Y0
	VSUBPS  (R11), Y1, Y1
	VSUBPS  4(DX), Y2, Y2
	VSUBPS  4(R11), Y3, Y3
	VSUBPS  Y2, Y0, Y4
	VADDPS  Y2, Y1, Y5
	VSUBPS  Y1, Y2, Y6
	VSUBPS  Y3, Y1, Y7
	VMOVUPS Y4, (R12)
	VMOVUPS Y5, (R12)(R10*1)
	VMOVUPS Y6, (R12)(R10*2)
	VMOVUPS Y7, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// k = 3: x = row1 − row3.
	VMOVUPS (DX), Y0
	VMOVUPS (R11), Y1
	VMOVUPS 4(DX), Y2
	VMOVUPS 4(R11), Y3
	VSUBPS  (DX)(R9*1), Y0, Y0
	VSUBPS  (R11)(R9*1), Y1, Y1
	VSUBPS  4(DX)(R9*1), Y2, Y2
	VSUBPS  4(R11)(R9*1), Y3, Y3
	VSUBPS  Y2, Y0, Y4
	VADDPS  Y2, Y1, Y5
	VSUBPS  Y1, Y2, Y6
	VSUBPS  Y3, Y1, Y7
	VMOVUPS Y4, (R12)
	VMOVUPS Y5, (R12)(R10*1)
	VMOVUPS Y6, (R12)(R10*2)
	VMOVUPS Y7, (R12)(R13*1)

	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R11
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop

done:
	VZEROUPPER
	RET

// func OutAVX(m *float32, ms int, y *float32, ys, n int, b float32)
//
// M rows 4g…4g+3 are at G_g + c·ms (G0 = SI, G1 = R9, G2 = R10, G3 = R11,
// each advancing 32 bytes per step; R8 = ms, R12 = 3·ms). Column c of
// Aᵀm is s = m[c] + m[4+c] + m[8+c], d = m[4+c] − m[8+c] − m[12+c]; the
// outputs are y00 = s0+s1+s2, y01 = s1−s2−s3, y10 = d0+d1+d2,
// y11 = d1−d2−d3 (Y8–Y11), plus b (Y15), stored to planes DI + k·ys.
TEXT ·OutAVX(SB), NOSPLIT, $0-44
	MOVQ         m+0(FP), SI
	MOVQ         ms+8(FP), R8
	MOVQ         y+16(FP), DI
	MOVQ         ys+24(FP), R13
	MOVQ         n+32(FP), CX
	VBROADCASTSS b+40(FP), Y15
	SHLQ         $2, R8
	SHLQ         $2, R13
	LEAQ         (R8)(R8*2), R12  // 3·ms
	LEAQ         (SI)(R8*4), R9   // rows 4…7
	LEAQ         (R9)(R8*4), R10  // rows 8…11
	LEAQ         (R10)(R8*4), R11 // rows 12…15
	LEAQ         (R13)(R13*2), R14 // 3·ys

oloop:
	CMPQ CX, $0
	JLE  odone

	// c = 0
	VMOVUPS (R9), Y0
	VMOVUPS (R10), Y1
	VADDPS  Y1, Y0, Y2
	VADDPS  (SI), Y2, Y2
	VSUBPS  Y1, Y0, Y3
	VSUBPS  (R11), Y3, Y3
	VADDPS  Y15, Y2, Y8
	VADDPS  Y15, Y3, Y10

	// c = 1
	VMOVUPS (R9)(R8*1), Y0
	VMOVUPS (R10)(R8*1), Y1
	VADDPS  Y1, Y0, Y2
	VADDPS  (SI)(R8*1), Y2, Y2
	VSUBPS  Y1, Y0, Y3
	VSUBPS  (R11)(R8*1), Y3, Y3
	VADDPS  Y2, Y8, Y8
	VADDPS  Y15, Y2, Y9
	VADDPS  Y3, Y10, Y10
	VADDPS  Y15, Y3, Y11

	// c = 2
	VMOVUPS (R9)(R8*2), Y0
	VMOVUPS (R10)(R8*2), Y1
	VADDPS  Y1, Y0, Y2
	VADDPS  (SI)(R8*2), Y2, Y2
	VSUBPS  Y1, Y0, Y3
	VSUBPS  (R11)(R8*2), Y3, Y3
	VADDPS  Y2, Y8, Y8
	VSUBPS  Y2, Y9, Y9
	VADDPS  Y3, Y10, Y10
	VSUBPS  Y3, Y11, Y11

	// c = 3
	VMOVUPS (R9)(R12*1), Y0
	VMOVUPS (R10)(R12*1), Y1
	VADDPS  Y1, Y0, Y2
	VADDPS  (SI)(R12*1), Y2, Y2
	VSUBPS  Y1, Y0, Y3
	VSUBPS  (R11)(R12*1), Y3, Y3
	VSUBPS  Y2, Y9, Y9
	VSUBPS  Y3, Y11, Y11

	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R13*1)
	VMOVUPS Y10, (DI)(R13*2)
	VMOVUPS Y11, (DI)(R14*1)

	ADDQ $32, SI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  oloop

odone:
	VZEROUPPER
	RET

// func Deinterleave(src *float32, ss int, a, b *float32, ds, rows, w int)
//
// Row r: a[r·ds + k] = src[r·ss + 2k], b[r·ds + k] = src[r·ss + 2k + 1]
// for 2k < w (b only for 2k+1 < w), 8 floats per SSE step.
TEXT ·Deinterleave(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ ss+8(FP), R8
	MOVQ a+16(FP), DI
	MOVQ b+24(FP), R9
	MOVQ ds+32(FP), R10
	MOVQ rows+40(FP), R11
	MOVQ w+48(FP), R12
	SHLQ $2, R8
	SHLQ $2, R10

drow:
	CMPQ R11, $0
	JLE  dend
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R9, DX
	MOVQ R12, CX

dvec:
	CMPQ   CX, $8
	JLT    dpair
	MOVUPS (AX), X0
	MOVUPS 16(AX), X1
	MOVAPS X0, X2
	SHUFPS $0x88, X1, X2 // src 0, 2, 4, 6
	SHUFPS $0xDD, X1, X0 // src 1, 3, 5, 7
	MOVUPS X2, (BX)
	MOVUPS X0, (DX)
	ADDQ   $32, AX
	ADDQ   $16, BX
	ADDQ   $16, DX
	SUBQ   $8, CX
	JMP    dvec

dpair:
	CMPQ  CX, $2
	JLT   dlast
	MOVSS (AX), X0
	MOVSS 4(AX), X1
	MOVSS X0, (BX)
	MOVSS X1, (DX)
	ADDQ  $8, AX
	ADDQ  $4, BX
	ADDQ  $4, DX
	SUBQ  $2, CX
	JMP   dpair

dlast:
	CMPQ  CX, $1
	JLT   dnext
	MOVSS (AX), X0
	MOVSS X0, (BX)

dnext:
	ADDQ R8, SI
	ADDQ R10, DI
	ADDQ R10, R9
	DECQ R11
	JMP  drow

dend:
	RET

// func Interleave(a, b *float32, ss int, dst *float32, ds, rows, w int)
//
// Row r: dst[r·ds + 2k] = a[r·ss + k], dst[r·ds + 2k + 1] = b[r·ss + k]
// for the w elements of the row, 8 per SSE step.
TEXT ·Interleave(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), R9
	MOVQ ss+16(FP), R8
	MOVQ dst+24(FP), DI
	MOVQ ds+32(FP), R10
	MOVQ rows+40(FP), R11
	MOVQ w+48(FP), R12
	SHLQ $2, R8
	SHLQ $2, R10

irow:
	CMPQ R11, $0
	JLE  iend
	MOVQ SI, AX
	MOVQ R9, BX
	MOVQ DI, DX
	MOVQ R12, CX

ivec:
	CMPQ     CX, $8
	JLT      ipair
	MOVUPS   (AX), X0
	MOVUPS   (BX), X1
	MOVAPS   X0, X2
	UNPCKLPS X1, X2 // a0 b0 a1 b1
	UNPCKHPS X1, X0 // a2 b2 a3 b3
	MOVUPS   X2, (DX)
	MOVUPS   X0, 16(DX)
	ADDQ     $16, AX
	ADDQ     $16, BX
	ADDQ     $32, DX
	SUBQ     $8, CX
	JMP      ivec

ipair:
	CMPQ  CX, $2
	JLT   ilast
	MOVSS (AX), X0
	MOVSS (BX), X1
	MOVSS X0, (DX)
	MOVSS X1, 4(DX)
	ADDQ  $4, AX
	ADDQ  $4, BX
	ADDQ  $8, DX
	SUBQ  $2, CX
	JMP   ipair

ilast:
	CMPQ  CX, $1
	JLT   inext
	MOVSS (AX), X0
	MOVSS X0, (DX)

inext:
	ADDQ R8, SI
	ADDQ R8, R9
	ADDQ R10, DI
	DECQ R11
	JMP  irow

iend:
	RET

// func GradOutAVX(y *float32, ys int, m *float32, ms int, n int)
//
// The adjoint of OutAVX (without the bias): from the output-gradient
// parity planes y + k·ys (p = dy00, q = dy01, s = dy10, t = dy11 in
// Y0–Y3), m[ξ·ms + L] = (A dy Aᵀ)[ξ]. Row r of A dy is (h0, h1) = (p, q),
// (p+s, q+t), (p−s, q−t), (−s, −t); its four elements are h0, h0+h1,
// h0−h1, −h1.
TEXT ·GradOutAVX(SB), NOSPLIT, $0-40
	MOVQ   y+0(FP), SI
	MOVQ   ys+8(FP), R8
	MOVQ   m+16(FP), DI
	MOVQ   ms+24(FP), R10
	MOVQ   n+32(FP), CX
	SHLQ   $2, R8
	SHLQ   $2, R10
	LEAQ   (R8)(R8*2), R9   // 3·ys
	LEAQ   (R10)(R10*2), R13 // 3·ms
	VXORPS Y15, Y15, Y15

gloop:
	CMPQ CX, $0
	JLE  gdone

	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	MOVQ    DI, R12

	// r = 0: (p, q)
	VADDPS  Y1, Y0, Y10
	VSUBPS  Y1, Y0, Y11
	VSUBPS  Y1, Y15, Y12
	VMOVUPS Y0, (R12)
	VMOVUPS Y10, (R12)(R10*1)
	VMOVUPS Y11, (R12)(R10*2)
	VMOVUPS Y12, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// r = 1: (p+s, q+t)
	VADDPS  Y2, Y0, Y4
	VADDPS  Y3, Y1, Y5
	VADDPS  Y5, Y4, Y10
	VSUBPS  Y5, Y4, Y11
	VSUBPS  Y5, Y15, Y12
	VMOVUPS Y4, (R12)
	VMOVUPS Y10, (R12)(R10*1)
	VMOVUPS Y11, (R12)(R10*2)
	VMOVUPS Y12, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// r = 2: (p−s, q−t)
	VSUBPS  Y2, Y0, Y4
	VSUBPS  Y3, Y1, Y5
	VADDPS  Y5, Y4, Y10
	VSUBPS  Y5, Y4, Y11
	VSUBPS  Y5, Y15, Y12
	VMOVUPS Y4, (R12)
	VMOVUPS Y10, (R12)(R10*1)
	VMOVUPS Y11, (R12)(R10*2)
	VMOVUPS Y12, (R12)(R13*1)
	LEAQ    (R12)(R10*4), R12

	// r = 3: (−s, −t)
	VSUBPS  Y2, Y15, Y4
	VSUBPS  Y3, Y15, Y5
	VADDPS  Y5, Y4, Y10
	VSUBPS  Y5, Y4, Y11
	VMOVUPS Y4, (R12)
	VMOVUPS Y10, (R12)(R10*1)
	VMOVUPS Y11, (R12)(R10*2)
	VMOVUPS Y3, (R12)(R13*1) // −(−t)

	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  gloop

gdone:
	VZEROUPPER
	RET
