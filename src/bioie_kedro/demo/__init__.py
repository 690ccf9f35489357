"""Web demo: paste a text, pick a trained model of the catalog, see its entities and relations.

``python -m bioie_kedro.demo --port 7860`` serves it (see ``docs/surfaces.md``);
:class:`~bioie_kedro.demo.service.DemoService` does the work without the web.
"""
