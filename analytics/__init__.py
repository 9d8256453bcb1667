"""考核分析看板 analytics: import, store, queries, metrics and figures. No Streamlit here."""
