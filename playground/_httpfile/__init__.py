"""The .http language's running parts, under httpfile.py (which parses and renders): the variables
``{{...}}`` stand for, running a file through a Client, ``??`` assertions, environment files, the
JSONPath subset, WebSocket conversations (also ``%%ws``), and pytest's items for .http files.
"""
