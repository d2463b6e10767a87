"""Implicit user feedback: event schema, store, ingest API and curation into expert sets.

Heavy optional dependencies (SQLAlchemy, Alembic, FastAPI) come with the ``service``
extra: ``pip install 'diffusion-dro[service]'``. Import the submodules you need;
nothing here loads at package import.
"""
