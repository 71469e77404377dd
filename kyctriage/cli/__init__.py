"""The command line: click commands that parse, call the front door, pick renderers, exit."""
