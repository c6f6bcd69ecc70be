# deepfake-audio: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/resnet18.yaml
DEVSET ?= ../shared/data/speech-devset
# The devsets the shipped model is trained on, and its recipe.
DEVSETS ?= [../shared/data/speech-devset, ../shared/data/neural-devset, ../shared/data/neural-devset-2]
RELEASE_CONFIG ?= configs/whisper_linear.yaml
SEEDS ?= 2
# One BLAS thread per process: more threads than free cores slows PyTorch down sharply.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: help install demo test test-fast bench lint format fit evaluate reproduce-classical release-model tensorboard clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(BIN)/deepfake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/deepfake ## Create .venv and install the package with dev extras

demo: install ## Train and test ResNet-18 on the built-in demo set (CONFIG=... for another)
	$(THREADS) $(BIN)/deepfake fit --config $(CONFIG)
	$(THREADS) $(BIN)/deepfake test --config $(CONFIG)

test: install ## Run the whole test suite (as CI does)
	$(THREADS) $(BIN)/pytest

test-fast: install ## Run the unit tests only (not the slow ones that fit, spawn or serve): under a minute
	$(THREADS) $(BIN)/pytest -m "not slow"

bench: install ## Print the benchmark tables (data, training, inference, latency; Whisper encoders); ARGS="--root DIR"
	$(BIN)/python bench/run.py $(ARGS)
	$(BIN)/python bench/encoders.py

lint: install ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Reformat with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

fit: install ## Train CONFIG (e.g. make fit CONFIG=configs/senet.yaml ARGS="--data.root DIR")
	$(THREADS) $(BIN)/deepfake fit --config $(CONFIG) $(ARGS)

evaluate: install ## Test the best checkpoint of the latest fit of CONFIG
	$(THREADS) $(BIN)/deepfake test --config $(CONFIG) $(ARGS)

reproduce-classical: install ## Train and test configs/ablations/best_classical.yaml on DEVSET, its unseen conditions, then its leave-one-attack-out and 5-fold cross-validation tables (SEEDS seeds)
	$(THREADS) $(BIN)/deepfake fit --config configs/ablations/best_classical.yaml --data.root $(DEVSET)
	$(THREADS) $(BIN)/deepfake test --config configs/ablations/best_classical.yaml --data.root $(DEVSET)
	$(THREADS) $(BIN)/deepfake robustness $$($(BIN)/python -m deepfake_audio.runs latest lightning_logs/best_classical)
	$(THREADS) $(BIN)/deepfake compare --protocol leave-one-attack-out --configs configs/ablations/best_classical.yaml \
		--seeds $(SEEDS) --out lightning_logs/compare/best_classical-leave-one-attack-out -- --data.root $(DEVSET)
	$(THREADS) $(BIN)/deepfake compare --protocol cross-validation --folds 5 --configs configs/ablations/best_classical.yaml \
		--seeds $(SEEDS) --out lightning_logs/compare/best_classical-cross-validation -- --data.root $(DEVSET)

release-model: install ## Rebuild the built-in model: train RELEASE_CONFIG on DEVSETS, test it, install its package
	$(THREADS) $(BIN)/python -m deepfake_audio.training.release --config $(RELEASE_CONFIG) --name default \
		--notes results/shipped-model.md -- --data.root '$(DEVSETS)'

tensorboard: install ## Serve the training dashboards of lightning_logs/
	$(BIN)/tensorboard --logdir lightning_logs

clean: ## Remove runs, caches and build output (keeps .venv)
	find lightning_logs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info
