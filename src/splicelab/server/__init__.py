"""The monitor server (FastAPI): the spack-monitor API, splicelab's /api/v1, auth, web pages.

Entry point: ``splicelab.server.app.create_app(settings)``; ``splicelab serve`` runs it with uvicorn.
"""
