"""(area module: filled in by its owner)"""
urlpatterns = []
