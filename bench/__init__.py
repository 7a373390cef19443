"""srbench harness: protocol, metrics, evaluation, runner, MLflow tracking, reports and the CLI."""
