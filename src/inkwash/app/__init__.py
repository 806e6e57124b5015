"""The web app: a FastAPI server (`inkwash serve`) in front of `inkwash.infer.Colorizer`, and a static page.

    from inkwash.app import ServerConfig, create_app
    app = create_app(ServerConfig(default_model="lazybrush"))   # an ASGI app: uvicorn.run(app, port=7860)

The page (static/index.html) talks to the server; static/onnx.html is the same page running an exported
ONNX model in the browser (onnxruntime-web), with no server beyond plain file hosting.
"""

from inkwash.app.server import STATIC_DIR, ServerConfig, create_app

__all__ = ["STATIC_DIR", "ServerConfig", "create_app"]
