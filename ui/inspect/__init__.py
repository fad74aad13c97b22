"""The Inspect page's body (pages/inspect.py lays out the tabs; each tab lives here in its own module).

- `gradient`, `weights`, `representations` (projection and probes), `confusion_time`, `saliency` (and FGSM),
  `twin` (Side by side), `diagnose`: one module per tab, layout only.
- `cache`: the figures the tabs draw, each one `mnistlab.insight.figures` function wrapped in st.cache_*;
  `python -m mnistlab inspect RUN --figure … --json` exports the same dataclasses.
- `charts`: the Plotly figures those tabs draw; `controls`: chart headings and the URL-bound epoch and image pickers.
"""
