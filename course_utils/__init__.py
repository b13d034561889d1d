"""course_utils — the reference implementation behind "LLMs from Theory to Practice".

Every notebook builds a piece step by step, then imports it from here. Modules are small and
named after what they hold: `tokenizers`, `data`, `batching`, `attention`, `transformer`,
`training`, `generation`, `metrics`, `validation`, ...
"""
from course_utils.env import environment_report, get_device, set_seed, setup_notebook
from course_utils.checks import expect

__all__ = ["environment_report", "expect", "get_device", "set_seed", "setup_notebook"]
__version__ = "0.1.0"
