"""Mean Opinion Score study (thesis IV.1.4.2): a web page to rate colorizations blind, and the MOS table.

    inkwash study serve --images report/outputs --db study.sqlite     # participants open http://HOST:8000/
    inkwash study report --db study.sqlite -o study-report/

`store` (SQLite: images, votes with UNIQUE(participant, image)), `server` (FastAPI app), `report` (MOS, STD,
Welch t-test p-values). The server needs FastAPI and uvicorn; the store and the report do not.
"""
