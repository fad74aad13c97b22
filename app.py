"""mnistlab dashboard entry point: page config, shared styles and the page navigation.

Run it with `make run` (or `streamlit run app.py`). Pages live in pages/; they are thin layout over
the core library (`mnistlab`) and the small helpers in ui/.
"""

import streamlit as st

st.set_page_config(page_title="mnistlab", page_icon=":material/neurology:", layout="wide",
                   initial_sidebar_state="expanded",
                   menu_items={"About": "mnistlab: learn and experiment with MLPs on MNIST and Fashion-MNIST."})

# Styles use translucent greys and the theme's own colours, so they read on light and dark themes.
st.html("""
<style>
  .block-container {padding-top: 2.2rem; max-width: 1400px}
  [data-testid="stMetric"] {background: rgba(128,128,128,.07); border: 1px solid rgba(128,128,128,.22);
                            border-radius: .6rem; padding: .55rem .8rem}
  [data-testid="stMetricValue"] {font-size: 1.55rem}
  h1 {letter-spacing: -.02em}
</style>
""")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/grid_view:", url_path="data"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/results.py", title="Results", icon=":material/insights:", url_path="results"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/troubleshoot:", url_path="inspect"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("pages/sweep.py", title="Sweep", icon=":material/stacked_line_chart:", url_path="sweep"),
]

st.navigation(PAGES).run()
