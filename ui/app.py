"""Tunedesk's web app. Start it with `tunedesk ui` (or `streamlit run ui/app.py` from the repository root).

Pages live in ui/app_pages/ (not pages/, which Streamlit would also list on its own) and only wire widgets to the library; the heavy objects come from
ui.resources, per-session state from ui.state.
"""

import streamlit as st

st.set_page_config(page_title="Tunedesk", page_icon=":material/support_agent:", layout="wide")

pages = [
    st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/documents.py", title="Documents", icon=":material/description:"),
    st.Page("app_pages/training.py", title="Training", icon=":material/model_training:"),
    st.Page("app_pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
]
st.navigation(pages).run()
