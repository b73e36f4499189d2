"""Evaluation: predictions on records, the report (NME, FR, AUC, subsets) and CED plots."""

from awing_tf.evaluation.evaluate import evaluate
from awing_tf.evaluation.predictions import predict_records
from awing_tf.evaluation.report import build_report, format_table, metrics_block

__all__ = ["build_report", "evaluate", "format_table", "metrics_block", "predict_records"]
