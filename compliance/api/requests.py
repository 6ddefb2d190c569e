"""(area module: filled in by its owner)"""
ROUTES = []
PATHS = []
