"""placeholder"""
def write_html(data, tables, figures, out, agreement=None):
    return None
