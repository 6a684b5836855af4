"""The app's pages: scripts Streamlit runs (ui/app.py lists them); a package so that installs carry them."""
