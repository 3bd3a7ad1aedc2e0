"""placeholder"""
def write_figures(data, tables, out):
    return {}
