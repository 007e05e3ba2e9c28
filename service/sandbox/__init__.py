"""An offline amoCRM account: OAuth, an API v4 subset, webhooks, a generator and a live simulator.

Import from the submodules: app.create_sandbox_app, generator.generate, accountfile.dump/load,
webhooks.WebhookSender, simulator.Simulator. Nothing here imports the rest of `service`.
"""
