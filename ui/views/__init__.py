"""Pages of the Streamlit analyst app, one ``render()`` per module.

Not named ``pages/``: Streamlit treats a ``pages/`` folder beside the entry script as legacy
multipage files, and a file there whose name equals an ``st.navigation`` url path hijacks reruns.
"""
