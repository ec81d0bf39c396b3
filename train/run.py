"""Fine-tune the base model on the training questions: LoRA adapters on every linear layer
of the encoder, a ranking loss over in-batch and hard negatives, on the CPU.

    python -m train [--epochs 1] [--batch 16] [--resume] [--limit N]

Rebuilds every passage from ../shared/train-corpus (train/pairs.jsonl holds only
their spans), holds back a tenth of the passages' questions to stop early on their
loss, checkpoints to train/work/ (resumed with --resume), and writes the adapter
and its manifest to kb/model/adapter/. Fixed seed for the adapter's initial values,
the batches and dropout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import time
from datetime import datetime, timezone
from pathlib import Path

from train.corpus import Span, by_sha, numbered, passages
from train.lora import LoraLinear, add_lora, load_matrices, matrices
from train.pairs import PAIRS, held_out, load

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
SEED = 1234
DROPOUT = 0.05
LORA_CHECKPOINT = "lora.safetensors"
# Every linear layer of each BERT block: attention (q, k, v, output) and the MLP.
TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def data_hash() -> str:
    return "sha256:" + hashlib.sha256(PAIRS.read_bytes()).hexdigest()


def examples(rows: list[dict]) -> list[dict]:
    """(anchor, positive[, negative]) per question: its text, its passage and, when a
    judged hard negative exists, the best-ranked one (one per question keeps every batch
    the same shape)."""
    documents = by_sha()
    out = []
    for row in rows:
        filename = documents[row["sha256"]].filename
        pieces, index = passages(filename), numbered(filename)
        example = {"anchor": row["query"], "positive": pieces[index[Span.from_row(row)]].text}
        if row.get("negatives"):
            example["negative"] = pieces[index[Span.from_row(row["negatives"][0])]].text
        out.append(example)
    return out


def save_adapter(encoder, directory: Path, manifest: dict) -> Path:
    """The LoRA matrices as float16 safetensors (what kb/model/adapter.py merges), and the manifest."""
    from safetensors.numpy import save_file

    from kb.model.adapter import MANIFEST, WEIGHTS

    found = matrices(encoder)
    scale = {round(m.scale, 6) for m in encoder.modules() if isinstance(m, LoraLinear)}
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.float().numpy().astype("float16") for k, v in found.items()}, str(directory / WEIGHTS))
    data = {**manifest, "scale": scale.pop(), "matrices": len(found),
            "parameters": int(sum(v.numel() for v in found.values()))}
    (directory / MANIFEST).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory


def lora_keeper(encoder):
    """A trainer callback that keeps what the trainer's own checkpoints lose: they save
    the encoder through transformers, which drops the LoRA matrices. It writes them
    beside each checkpoint (`lora.safetensors`, read back by --resume) and keeps in
    memory the matrices of the best held-out loss, restored when training ends."""
    import torch
    from safetensors.torch import save_file
    from transformers import TrainerCallback

    class Keeper(TrainerCallback):
        best_loss = float("inf")
        best_step = 0
        best: dict[str, torch.Tensor] = {}

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            loss = (metrics or {}).get("eval_loss")
            if loss is not None and loss < self.best_loss:
                self.best_loss, self.best_step = loss, state.global_step
                self.best = {k: v.clone() for k, v in matrices(encoder).items()}

        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            save_file({k: v.contiguous() for k, v in matrices(encoder).items()}, str(folder / LORA_CHECKPOINT))

        def on_train_end(self, args, state, control, **kwargs):
            if self.best:
                load_matrices(encoder, self.best)

    return Keeper()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--scale", type=float, default=50.0, help="1/temperature of the ranking loss")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--eval-steps", type=int, default=50)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N questions only (a trial run)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="adapter folder (default kb/model/adapter)")
    args = parser.parse_args()

    import torch
    from datasets import Dataset, DatasetDict
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    from transformers import EarlyStoppingCallback

    from kb.model.adapter import ADAPTER_DIR
    from kb.model.convert import E5_PROMPTS
    from kb.model.resolve import ensure_base_model, describe_model

    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 1)
    rows = load()
    if args.limit:
        rows = rows[: args.limit]
    train_rows = [r for r in rows if not held_out(r)]
    eval_rows = [r for r in rows if held_out(r)]
    train_examples = examples(train_rows)
    hard = [e for e in train_examples if "negative" in e]
    plain = [e for e in train_examples if "negative" not in e]
    print(f"{len(train_rows)} preguntas de entrenamiento ({len(hard)} con negativo difícil), "
          f"{len(eval_rows)} reservadas", flush=True)

    base = describe_model(ensure_base_model())
    model = SentenceTransformer(str(base.path), device="cpu")
    model.max_seq_length = args.max_tokens
    wrapped = add_lora(model[0].auto_model, TARGETS, args.rank, 2 * args.rank, DROPOUT)
    print(f"LoRA de rango {args.rank} en {len(wrapped)} capas lineales", flush=True)

    def datasets(hard_rows: list[dict], plain_rows: list[dict]) -> DatasetDict:
        parts = {}
        if hard_rows:
            parts["hard"] = Dataset.from_list(hard_rows)
        if plain_rows:
            parts["plain"] = Dataset.from_list(plain_rows)
        return DatasetDict(parts)

    # Early stopping watches one number: the loss of the held-out questions against
    # each other's passages (their hard negatives left out, so it is comparable
    # across data versions).
    held = Dataset.from_list([{"anchor": e["anchor"], "positive": e["positive"]} for e in examples(eval_rows)])

    keeper = lora_keeper(model[0].auto_model)
    prompts = {"anchor": E5_PROMPTS["query"], "positive": E5_PROMPTS["passage"], "negative": E5_PROMPTS["passage"]}
    training = SentenceTransformerTrainingArguments(
        output_dir=str(WORK),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch,
        per_device_eval_batch_size=args.batch,
        learning_rate=args.lr,
        warmup_steps=0.1,
        seed=SEED,
        data_seed=SEED,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        prompts=prompts,
        eval_strategy="steps",
        eval_steps=args.eval_steps,
        save_strategy="steps",
        save_steps=args.eval_steps,
        save_total_limit=2,
        # The best checkpoint is restored by lora_keeper: the trainer's own copy lacks the adapter.
        metric_for_best_model="eval_loss",
        logging_steps=10,
        use_cpu=True,
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=False,
    )

    class LoraTrainer(SentenceTransformerTrainer):
        def _load_from_checkpoint(self, checkpoint_path, *_):
            """A checkpoint's weights are the frozen base and the matrices lora_keeper wrote."""
            from safetensors.torch import load_file

            load_matrices(model[0].auto_model, load_file(str(Path(checkpoint_path) / LORA_CHECKPOINT)))

    trainer = LoraTrainer(
        model=model,
        args=training,
        train_dataset=datasets(hard, plain),
        eval_dataset=held,
        loss=MultipleNegativesRankingLoss(model, scale=args.scale),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=3), keeper],
    )
    started = time.monotonic()
    # The held-out loss of the base model, the number training has to beat.
    before = trainer.evaluate()["eval_loss"]
    print(f"pérdida de las reservadas con el modelo base: {before:.4f}", flush=True)
    checkpoints = sorted(WORK.glob("checkpoint-*/" + LORA_CHECKPOINT), key=lambda p: int(p.parent.name.split("-")[1]))
    resume = str(checkpoints[-1].parent) if args.resume and checkpoints else None
    if resume:
        print(f"continúa desde {checkpoints[-1].parent.name}", flush=True)
    trainer.train(resume_from_checkpoint=resume)
    final = trainer.evaluate()
    out = args.out or ADAPTER_DIR
    manifest = {
        "base_fingerprint": base.fingerprint,
        "data": {"file": "train/pairs.jsonl", "hash": data_hash(), "limit": args.limit or None,
                 "questions": len(rows),
                 "train": len(train_rows), "held_out": len(eval_rows), "hard_negatives": len(hard)},
        "hyperparameters": {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "rank": args.rank,
                            "alpha": 2 * args.rank, "dropout": DROPOUT, "targets": TARGETS,
                            "scale": args.scale, "max_tokens": args.max_tokens, "seed": SEED,
                            "warmup": 0.1, "loss": "MultipleNegativesRankingLoss"},
        "numbers": {"eval_loss_base": round(before, 4),
                    **{key: round(value, 4) for key, value in final.items() if isinstance(value, float)}},
        "steps": trainer.state.global_step,
        "best_step": keeper.best_step,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    save_adapter(model[0].auto_model, out, manifest)
    print(json.dumps(manifest, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
