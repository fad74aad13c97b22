"""Streamlit helpers for the mnistlab dashboard: session state, caches, charts, widgets, live view."""
