"""The profile service (issue 16): the portraits as an API (`/api/v1`) and a profile panel for
sales, credit and service staff and their CRM. FastAPI on uvicorn, reading `marts.*` through the
service's own warehouse login (portrait_service), every read of a customer written to
`audit.access_log`. A shell: it imports the base (settings, secrets) and the libraries' words."""
