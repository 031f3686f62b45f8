"""The README's envs quick-start snippet runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_envs_quick_start_runs():
    text = README.read_text()
    section = text[text.index("<!-- section: envs -->") : text.index("<!-- /section: envs -->")]
    code = re.findall(r"```python\n(.*?)```", section, re.S)
    assert code, "no python block in the envs section"
    exec(compile(code[0], "README-envs", "exec"), {})
