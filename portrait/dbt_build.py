"""The "build" dbt execution (PORTRAIT_DBT_EXECUTION=build): one Airflow task running
``dbt build`` over a task group's selection, whose failure names the failed models.

Cosmos's DbtBuildLocalOperator, run with dbt's programmatic runner, with a failure message
built from the run's results: each failed model, seed or snapshot, each failed test with the
model it tests, and the nodes dbt skipped because of them. One task has no per-model status
in the Airflow UI, so the exception message (and the task log) carries it."""

from __future__ import annotations

from typing import Any

from cosmos.operators.local import DbtBuildLocalOperator

FAILED = ("error", "fail", "runtime error")


def failed_nodes(run_results: Any) -> dict[str, list[str]]:
    """From a dbt run's results (dbtRunnerResult.result): "models", the failed models, seeds
    and snapshots, and the models of failed tests, each once, in dbt's order; "failures", one
    line per failed node with its status and dbt's message; "skipped", the nodes skipped."""
    models: list[str] = []
    failures: list[str] = []
    skipped: list[str] = []
    for result in getattr(run_results, "results", None) or []:
        node = result.node
        status = str(getattr(result.status, "value", result.status))
        if status == "skipped":
            skipped.append(node.name)
            continue
        if status not in FAILED:
            continue
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        message = " ".join(str(result.message or "").split())
        if kind in ("test", "unit_test"):
            tested = tested_models(node)
            failures.append(
                f"{kind} {node.name} on {', '.join(tested) or '?'} ({status}: {message})"
            )
        else:
            tested = [node.name]
            failures.append(f"{kind} {node.name} ({status}: {message})")
        models.extend(name for name in tested if name not in models)
    return {"models": models, "failures": failures, "skipped": skipped}


def tested_models(node: Any) -> list[str]:
    """The model(s) a test node tests: its attached node, else the models it depends on."""
    attached = getattr(node, "attached_node", None)
    if not attached and str(getattr(node, "resource_type", "")) in ("unit_test", "NodeType.Unit"):
        attached = getattr(node, "tested_node_unique_id", None)
    ids = [attached] if attached else list(getattr(node.depends_on, "nodes", []) or [])
    return [uid.split(".")[-1] for uid in ids if uid.split(".")[0] in ("model", "seed", "snapshot")]


def failure_message(run_results: Any, exception: BaseException | None = None) -> str:
    """The exception message of a failed build: the failed models first, then each failure."""
    if exception is not None:
        return f"dbt build did not complete: {exception}"
    found = failed_nodes(run_results)
    lines = [f"dbt build failed in model(s): {', '.join(found['models']) or '(none named)'}"]
    lines += [f"  - {line}" for line in found["failures"]]
    if found["skipped"]:
        lines.append(
            f"  {len(found['skipped'])} node(s) skipped because of them: "
            + ", ".join(found["skipped"][:20])
            + (" ..." if len(found["skipped"]) > 20 else "")
        )
    return "\n".join(lines)


class DbtBuildNamingFailures(DbtBuildLocalOperator):
    """``dbt build`` over a selection (one task); a failure raises DbtBuildFailed naming the
    failed models, so the Airflow UI shows which model failed without a task per model."""

    def handle_exception_dbt_runner(self, result: Any) -> None:
        if result.success:
            return
        message = failure_message(result.result, result.exception)
        self.log.error(message)
        raise DbtBuildFailed(message)


class DbtBuildFailed(RuntimeError):
    """dbt build failed; the message names the failed models and each failure."""
