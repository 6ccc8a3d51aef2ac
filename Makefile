# Generated output (DB, checkpoints, tables, plots, binaries) goes under OUT.
OUT ?= out
GO ?= go
BIN := $(OUT)/bin/vaebm
ARGS ?=
# The experiments of Table 4's other methods on Fashion-MNIST (below).
METHODS := fashion-ebm-x fashion-ebm-x-vae-init fashion-wgan-nvae fashion-vaebm-kl

.PHONY: deps build ablation-table4 ood toy-25gaussians toy-ebm-x stackedmnist mnist-classifier fashion-mnist $(METHODS) test fuzz bench gobench clean

deps:
	@./scripts/deps.sh

# The binary carries the digest of the Go source its stages run (./pipeline
# and what it imports), which keys the stage cache (README: Tracking).
build: deps
	$(GO) build -ldflags "-X github.com/vaebm/vaebm/pipeline.sourceDigest=$$($(GO) run ./scripts/srcdigest ./pipeline)" -o $(BIN) ./cmd/vaebm

# The 25-Gaussians experiment (Sec. 5.4): table out/tables/toy-25gaussians.*,
# figures out/plots/toy-25gaussians-*.png. Pass overrides with ARGS="seed=1".
toy-25gaussians: build
	$(BIN) --out $(OUT) run experiments/toy-25gaussians.yaml $(ARGS)

# The toy table's "EBM on x" row: the same energy on x alone, exact LL.
toy-ebm-x: build
	$(BIN) --out $(OUT) run experiments/toy-ebm-x.yaml $(ARGS)

# StackedMNIST mode coverage (Sec. 5.3): Table 5 in out/tables/stackedmnist.*,
# sample grids, Fig. 12 and chain strips in out/plots/stackedmnist-*.png.
stackedmnist: build
	$(BIN) --out $(OUT) run experiments/stackedmnist.yaml $(ARGS)

# Fashion-MNIST, the stand-in for CIFAR-10: classifier-FID and IS of NVAE
# and VAEBM, table out/tables/fashion-mnist.*, figures out/plots/fashion-mnist-*.png.
fashion-mnist: build
	$(BIN) --out $(OUT) run experiments/fashion-mnist.yaml $(ARGS)

# Table 4's other rows on Fashion-MNIST, one method each (README: the Table 4
# methods); they share fashion-mnist's cached VAE and feature nets.
$(METHODS): build
	$(BIN) --out $(OUT) run experiments/$@.yaml $(ARGS)

# Table 4 (Sec. 5.2) on Fashion-MNIST: every row × seed of
# ablations/table4.yaml without a finished run, then out/tables/table4.*,
# out/plots/table4-fig7.png and the claims (vaebm check table4). One seed:
# ARGS='seeds=[0]'. JOBS cells run at once as child processes: one process
# keeps about 1.6 of 2 cores busy, and the rows that do not wait on the VAE
# (EBM on x) train beside it (README: Table 4's times).
JOBS ?= 2
ablation-table4: build
	$(BIN) --out $(OUT) ablate ablations/table4.yaml --jobs $(JOBS) $(ARGS)
	@# check exits 1 when a claim fails: a finding, not a failed build.
	$(BIN) --out $(OUT) check table4 $(ARGS); [ $$? -le 1 ]

# Sec. 5.3 on Fashion-MNIST: Fig. 6 (log-likelihood histograms of training
# and test images), Table 6 (OOD AUROC, out/tables/ood.*) and App. I (nearest
# training images) of fashion-mnist.yaml's VAEBM, reused from the stage cache.
ood: build
	$(BIN) --out $(OUT) run experiments/fashion-ood.yaml $(ARGS)

# The MNIST classifier that labels StackedMNIST channels (trained once, then
# reused from the stage cache).
mnist-classifier: build
	$(BIN) --out $(OUT) classifier $(ARGS)

# The viewer's browser test drives Debian's Chromium, which deps.sh test
# installs; VAEBM_CHROMIUM makes a missing browser a failure, not a skip.
# The suite on both tracker backends: scripts/test.sh installs what it
# needs (Chromium, PostgreSQL), starts a throwaway server and stops it.
test:
	GO=$(GO) ./scripts/test.sh

# Each fuzz target (every reader of outside bytes) for FUZZTIME; `go test`
# runs only their seed corpora.
FUZZTIME ?= 30s
FUZZ := ./config:FuzzLoad ./core/data:FuzzDecodeIDX ./core/data:FuzzReadIDXFloat32 \
	./core/data:FuzzDecodeCIFAR10 ./core/nn:FuzzLoadParams ./core/train:FuzzLoadState
fuzz: deps
	@for t in $(FUZZ); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done

# The reference workloads (../shared/bench/README.md) and ours (hvae,
# xlangevin) through the core, one JSON line each as torch_ref.py prints
# them, then the PyTorch script and bench/twins.py (checked against our
# weights first) and the ratios; installs python3-torch if it can.
# Go micro-benchmarks: make gobench.
TORCH_REF ?= ../shared/bench/torch_ref.py
bench: build
	TORCH_REF=$(TORCH_REF) ./scripts/bench.sh $(BIN) $(OUT)/bench

gobench: deps
	$(GO) test -run '^$$' -bench . -benchtime 20x ./core/... ./bench/

clean:
	rm -rf $(OUT)
