"""``finrag finetune``: reranker fine-tuning jobs, the promotion gate and promotions.

Mounted by :mod:`ui.cli` through :func:`register`::

    finrag finetune --stage general --out runs/general
    finrag finetune --stage company --company ACME --base runs/general/model --out runs/acme
    finrag finetune evaluate runs/acme/model --set held-out/ [--company ACME]
    finrag finetune --stage company --company ACME --backend learned --out runs/acme-ranker
    finrag finetune evaluate runs/acme-ranker/model --folds company --set dev1/ --set dev2/
    finrag finetune promote runs/acme/model --by alice
    finrag finetune status

A job is :func:`finetune.jobs.run_job`; the gate and promotion are
:mod:`finetune.gate`. Interrupting a job and running it again with ``--resume`` continues
from its last checkpoint on the same dataset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

finetune_app = typer.Typer(
    help="Fine-tune the reranker (general, then per company), gate it on held-out questions, "
    "promote it.",
    invoke_without_command=True,
)


@finetune_app.callback()
def finetune(
    ctx: typer.Context,
    stage: Annotated[str | None, typer.Option(help="general | company")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Job folder (dataset, checkpoints, model, report).")
    ] = None,
    company: Annotated[
        str | None,
        typer.Option(help="Company stage: ticker or name (default: every filing of the corpus)."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(help="Start model (company stage: the general stage's model/ folder)."),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            help="cross-encoder (CPU) | qwen3-vl-lora (GPU) | learned (LightGBM page ranker, CPU)"
        ),
    ] = "cross-encoder",
    config: Annotated[
        Path | None, typer.Option(help="TOML with trainer options (a finetune or lora table).")
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="A data dir whose filings feed the data (default: FINRAG_DATA_DIR)."),
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="Train on this dataset folder instead of building one.")
    ] = None,
    exclude_set: Annotated[
        Path | None,
        typer.Option(help="A FinanceBench-format set whose questions stay out of the data."),
    ] = None,
    exclude_set_docs: Annotated[
        bool, typer.Option(help="Also keep that set's filings out.")
    ] = False,
    epochs: Annotated[int | None, typer.Option(help="Epochs (overrides the config).")] = None,
    max_minutes: Annotated[
        float, typer.Option(help="Wall-clock budget of the whole job: data, training, calibration.")
    ] = 14.0,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimizer steps.")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the job's last checkpoint.")] = False,
    max_queries: Annotated[
        int | None, typer.Option(help="learned: training queries to retrieve (default 1500).")
    ] = None,
    questions: Annotated[
        list[Path] | None,
        typer.Option(
            help="learned: a FinanceBench-format set of labelled questions to train on "
            "(repeatable; each is retrieved against its own cached corpus)."
        ),
    ] = None,
) -> None:
    """Run one fine-tuning stage: build the dataset, train, write the model and its report."""
    if ctx.invoked_subcommand is not None:
        return
    if stage is None or out is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if stage is None and out is None else 2)
    from ui.commands import readable_errors

    readable_errors(_run)(
        stage,
        out,
        company,
        base,
        backend,
        config,
        corpus,
        dataset,
        exclude_set,
        exclude_set_docs,
        max_minutes,
        {"epochs": epochs, "max_steps": max_steps, "max_queries": max_queries},
        resume,
        questions or [],
    )


def _run(
    stage,
    out,
    company,
    base,
    backend,
    config,
    corpus,
    dataset,
    exclude_set,
    exclude_set_docs,
    max_minutes,
    overrides,
    resume,
    questions,
) -> None:
    from core.errors import ConfigError
    from finetune.jobs import JobSpec, run_job
    from ui.commands import load_settings, open_corpus

    if stage not in ("general", "company"):
        raise ConfigError(f"--stage must be general or company, not {stage!r}")
    if questions and backend != "learned":
        raise ConfigError("--questions trains the learned page ranker: add --backend learned")
    spec = JobSpec(
        stage=stage,
        out=out,
        company=company,
        base=base,
        backend=backend,
        config=config,
        corpus=corpus,
        dataset=dataset,
        exclude_set=exclude_set,
        exclude_set_docs=exclude_set_docs,
        questions=questions,
        resume=resume,
        max_minutes=max_minutes,
        overrides={k: v for k, v in overrides.items() if v is not None},
    )
    typer.secho(f"{stage} stage -> {out} ({backend})", bold=True, err=True)
    settings = load_settings()
    if stage == "company" and corpus is not None:  # the filings of another corpus
        settings = settings.model_copy(
            update={"data_dir": corpus, "model_cache": settings.models_dir}
        )
    with open_corpus(settings) as opened:
        job = run_job(opened, spec, show_progress=True)
    report = json.loads((out / "report.json").read_text())
    before, after = report.get("initial_dev") or {}, report.get("final_dev") or {}
    typer.echo(
        f"dataset {job.dataset_version[:12]}: {job.examples.get('train', 0)} train / "
        f"{job.examples.get('dev', 0)} dev examples ({job.dataset_path})"
    )
    if before and after:
        typer.echo(
            f"dev MRR {before['mrr']:.3f} -> {after['mrr']:.3f}, accuracy@1 "
            f"{before['accuracy_at_1']:.3f} -> {after['accuracy_at_1']:.3f}"
        )
    labelled = (report.get("groups") or {}).get("labelled_questions")
    if labelled:
        typer.echo(f"labelled questions trained on: {labelled} (from --questions)")
    if report.get("serving"):
        typer.echo(f"serving cost per question: {report['serving']}")
    if job.fusion_weight is not None:
        typer.echo(
            f"fusion weight {job.fusion_weight:.1f} (1 = the model's order, 0 = retrieval's), "
            "calibrated on the held-out training queries"
        )
    typer.echo(
        f"stopped: {report.get('stopped', 'completed')}; "
        f"time: data {job.seconds.get('data', 0):.0f} s, "
        f"training {job.seconds.get('training', 0):.0f} s, calibration "
        f"{job.seconds.get('calibration', 0):.0f} s; model: {out / 'model'}"
    )
    typer.echo(f"next: finrag finetune evaluate {out / 'model'} --set HELD_OUT_SET")


def evaluate(
    model: Annotated[Path, typer.Argument(help="The candidate's model/ folder.")],
    set_dir: Annotated[
        list[Path],
        typer.Option("--set", help="Held-out FinanceBench-format set (repeat with --folds)."),
    ],
    company: Annotated[
        str | None,
        typer.Option(help="Scope: the ticker it would serve (default: every question)."),
    ] = None,
    folds: Annotated[
        str | None,
        typer.Option(help="company: one fold per company across the sets (learned rankers)."),
    ] = None,
    margin_mrr: Annotated[
        float, typer.Option(help="MRR gain required over every baseline.")
    ] = 0.02,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the full result as JSON here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Compare the candidate with the serving reranker and with none, on held-out questions."""
    from core.errors import ConfigError
    from evaluation.run_rerank import format_rerankers
    from finetune.gate import Margin, evaluate_candidate, evaluate_folds
    from ui.commands import load_settings

    scope = (company or "*").upper()
    if folds not in (None, "company"):
        raise ConfigError(f"--folds must be company, not {folds!r}")
    if folds is None and len(set_dir) != 1:
        raise ConfigError("give one --set, or several with --folds company")
    if folds:
        from finetune.folds import format_folds

        decision, result = evaluate_folds(
            load_settings(), model, set_dir, scope=scope, margin=Margin(mrr=margin_mrr)
        )
        text = format_folds(result)
    else:
        decision, result = evaluate_candidate(
            load_settings(),
            model,
            set_dir[0],
            scope=scope,
            margin=Margin(mrr=margin_mrr),
            limit=limit,
        )
        text = format_rerankers(result)
    payload = {"decision": decision.model_dump(mode="json"), "result": result}
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(payload, indent=2))
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(text)
    wins = ", ".join(f"{k} {v:.0%}" for k, v in decision.bootstrap_win_rate.items())
    typer.echo(f"paired bootstrap, share of resamples the candidate wins: {wins}")
    if decision.passed:
        typer.secho(
            f"PASSED the gate: promote with `finrag finetune promote {model} --by NAME`",
            fg=typer.colors.GREEN,
        )
    else:
        typer.secho("REFUSED: " + "; ".join(decision.reasons), fg=typer.colors.RED)


def promote(
    model: Annotated[Path, typer.Argument(help="The candidate's model/ folder (evaluated first).")],
    by: Annotated[str, typer.Option(help="Who promotes it (recorded).")],
) -> None:
    """Serve the candidate for its scope, if it passed the gate against the model serving now."""
    from finetune.gate import promote as do_promote
    from ui.commands import audit_log, load_settings, operator

    settings = load_settings()
    with audit_log(settings) as log, log.attempt(operator(settings), "model.promote", str(model)):
        record = do_promote(settings, model, by)
    scope = "every question" if record.scope == "*" else f"{record.scope}'s questions"
    typer.secho(
        f"promoted {record.model} for {scope} (MRR {record.metrics.get('mrr', 0):.3f}); "
        f"replaced: {record.replaced or 'no reranker'}",
        fg=typer.colors.GREEN,
    )


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """The rerankers serving now and every promotion so far."""
    from rerank.promoted import history, promoted
    from ui.commands import load_settings

    settings = load_settings()
    current, past = promoted(settings.data_dir), history(settings.data_dir)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "serving": {k: v.model_dump(mode="json") for k, v in current.items()},
                    "history": [h.model_dump(mode="json") for h in past],
                },
                indent=2,
            )
        )
        return
    if settings.rerank.name != "auto":
        typer.echo(f"FINRAG_RERANK__NAME={settings.rerank.name}: promotions are not consulted")
    if not current:
        typer.echo("no promoted reranker: questions are ranked by retrieval alone")
    for scope, record in sorted(current.items()):
        typer.echo(
            f"{scope:>6}  {record.backend}  {record.model}  "
            f"MRR {record.metrics.get('mrr', 0):.3f}  "
            f"by {record.promoted_by} at {record.promoted_at:%Y-%m-%d %H:%M}"
        )
    if past:
        log = settings.data_dir / "rerank" / "promotions.jsonl"
        typer.echo(f"{len(past)} promotions recorded in {log}")


def register(app: typer.Typer) -> None:
    """Mount ``finetune`` on ``app`` with the CLI's readable error handling."""
    from ui.commands import readable_errors

    finetune_app.command("evaluate")(readable_errors(evaluate))
    finetune_app.command("promote")(readable_errors(promote))
    finetune_app.command("status")(readable_errors(status))
    app.add_typer(finetune_app, name="finetune")
