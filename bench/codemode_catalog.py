"""Catalogs of 100, 1,000 and 5,000 tools for the Code Mode discovery benchmark, and its fixed query set.

The realistic servers of `codemode_fixtures` (GitHub, Playwright, Linear, Notion, Supabase, Sentry,
filesystem, git, memory, Slack: 164 tools) come first; the rest are distractor servers of 20 tools each,
generated from products whose tools overlap with the realistic ones on purpose (GitLab and Jira issues,
Bitbucket pull requests, Confluence pages, Teams and Discord messages, MySQL queries, Selenium
screenshots...), each in several regional or staging instances, as large deployments have them.

`QUERIES` is written from the realistic tools' descriptions, as a model would phrase a need; each names
the one tool that answers it. At 100 tools only the first five realistic servers exist, so only their
queries are asked there.
"""

from __future__ import annotations

from typing import Any

from codemode_fixtures import SERVERS

TOOLS_PER_SERVER = 20
SIZES = (100, 1000, 5000)

# product → (title, [(verb, entity, extra words for the description)], domain words)
_PRODUCTS: dict[str, tuple[str, list[str], str]] = {
    "gitlab": ("GitLab", ["issue", "merge request", "pipeline", "project", "branch", "commit", "file"], "repository"),
    "bitbucket": ("Bitbucket", ["pull request", "repository", "branch", "commit", "pipeline"], "repository"),
    "jira": ("Jira", ["issue", "sprint", "board", "comment", "project", "epic", "worklog"], "project"),
    "asana": ("Asana", ["task", "project", "section", "comment", "tag", "team"], "workspace"),
    "trello": ("Trello", ["card", "board", "list", "checklist", "label", "comment"], "board"),
    "confluence": ("Confluence", ["page", "space", "comment", "attachment", "label", "blog post"], "space"),
    "zendesk": ("Zendesk", ["ticket", "user", "organization", "comment", "macro", "view"], "helpdesk"),
    "hubspot": ("HubSpot", ["contact", "company", "deal", "note", "email", "pipeline"], "CRM"),
    "salesforce": ("Salesforce", ["account", "opportunity", "lead", "case", "contact", "report"], "org"),
    "stripe": ("Stripe", ["customer", "payment intent", "invoice", "subscription", "refund", "price"], "account"),
    "shopify": ("Shopify", ["product", "order", "customer", "collection", "inventory item", "discount"], "store"),
    "datadog": ("Datadog", ["monitor", "dashboard", "log", "metric", "incident", "event"], "organization"),
    "pagerduty": ("PagerDuty", ["incident", "service", "schedule", "escalation policy", "alert"], "account"),
    "teams": ("Microsoft Teams", ["message", "channel", "team", "meeting", "chat", "reply"], "tenant"),
    "discord": ("Discord", ["message", "channel", "role", "member", "thread", "reaction"], "server"),
    "mysql": ("MySQL", ["table", "query", "index", "view", "user", "schema"], "database"),
    "mongodb": ("MongoDB", ["collection", "document", "index", "database", "aggregation"], "cluster"),
    "selenium": ("Selenium", ["screenshot", "page", "element", "cookie", "window", "tab"], "browser session"),
    "gdrive": ("Google Drive", ["file", "folder", "permission", "comment", "revision", "shared drive"], "drive"),
    "dropbox": ("Dropbox", ["file", "folder", "shared link", "revision", "team member"], "account"),
    "airtable": ("Airtable", ["record", "table", "base", "field", "view", "comment"], "base"),
    "calendar": ("Google Calendar", ["event", "calendar", "attendee", "reminder", "free busy slot"], "calendar"),
    "gmail": ("Gmail", ["email", "draft", "label", "thread", "attachment", "filter"], "mailbox"),
    "figma": ("Figma", ["file", "comment", "component", "frame", "style", "version"], "team"),
    "vercel": ("Vercel", ["deployment", "project", "domain", "environment variable", "log"], "team"),
    "aws": ("AWS", ["S3 bucket", "EC2 instance", "Lambda function", "CloudWatch log", "IAM role"], "account"),
    "k8s": ("Kubernetes", ["pod", "deployment", "service", "namespace", "config map", "log"], "cluster"),
    "docker": ("Docker", ["container", "image", "volume", "network", "log"], "host"),
    "twilio": ("Twilio", ["SMS message", "call", "phone number", "conversation", "recording"], "account"),
    "intercom": ("Intercom", ["conversation", "contact", "article", "note", "tag", "team"], "workspace"),
}
_VERBS = [
    ("list", "List {e}s in the {p} {d}."),
    ("get", "Get details of a specific {e} in {p} by ID."),
    ("create", "Create a new {e} in {p}."),
    ("update", "Update an existing {e} in {p}."),
    ("delete", "Delete a {e} from {p}. This cannot be undone."),
    ("search", "Search {e}s in {p} by keyword, owner or status."),
]
_INSTANCES = ["", "eu", "us", "apac", "staging", "dev", "prod", "internal", "sandbox", "legacy"]


def _distractor(product: str, instance: str) -> tuple[str, list[dict[str, Any]]]:
    title, entities, domain = _PRODUCTS[product]
    where = f"{title} ({instance})" if instance else title
    tools = []
    for entity in entities:
        for verb, template in _VERBS:
            name = f"{verb}_{entity.replace(' ', '_').lower()}"
            properties: dict[str, Any] = {"id": {"type": "string", "description": f"The {entity} ID."}}
            if verb in ("list", "search"):
                properties = {"query": {"type": "string", "description": "Text to match."},
                              "limit": {"type": "integer", "description": "At most this many results."}}  # fmt: skip
            elif verb in ("create", "update"):
                properties["name"] = {"type": "string", "description": f"Name or title of the {entity}."}
            tools.append(
                {
                    "name": name,
                    "description": template.format(e=entity, p=where, d=domain),
                    "inputSchema": {"type": "object", "properties": properties},
                }
            )
    return (f"{product}-{instance}" if instance else product), tools[:TOOLS_PER_SERVER]


def catalog(size: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """About `size` tools: realistic servers first, then distractor servers of 20 tools each."""
    servers: list[tuple[str, list[dict[str, Any]]]] = []
    total = 0
    for server, tools in SERVERS:
        if total >= size:
            return servers
        servers.append((server, tools))
        total += len(tools)
    for instance in _INSTANCES:
        for product in _PRODUCTS:
            if total >= size:
                return servers
            name, tools = _distractor(product, instance)
            servers.append((name, tools))
            total += len(tools)
    raise ValueError(f"cannot generate {size} tools")


# (query, the tool that answers it), written from the realistic tools' descriptions.
QUERIES: list[tuple[str, str]] = [
    ("who is the authenticated GitHub user", "github/get_me"),
    ("find GitHub repositories about a topic", "github/search_repositories"),
    ("read a file from a GitHub repository", "github/get_file_contents"),
    ("push several files to GitHub in one commit", "github/push_files"),
    ("fork a GitHub repository", "github/fork_repository"),
    ("create a branch in a GitHub repository", "github/create_branch"),
    ("list the commits of a branch on GitHub", "github/list_commits"),
    ("open a new issue in a GitHub repository", "github/create_issue"),
    ("comment on a GitHub issue", "github/add_issue_comment"),
    ("list pull requests of a GitHub repo", "github/list_pull_requests"),
    ("merge a GitHub pull request", "github/merge_pull_request"),
    ("search code across all GitHub repositories", "github/search_code"),
    ("take a screenshot of the current page in the browser", "playwright/browser_take_screenshot"),
    ("navigate the browser to a URL", "playwright/browser_navigate"),
    ("click on an element of the web page", "playwright/browser_click"),
    ("fill several form fields in the browser", "playwright/browser_fill_form"),
    ("press a key on the keyboard", "playwright/browser_press_key"),
    ("evaluate a JavaScript expression on the page", "playwright/browser_evaluate"),
    ("wait for text to appear on the page", "playwright/browser_wait_for"),
    ("list the network requests of the page", "playwright/browser_network_requests"),
    ("select an option in a dropdown", "playwright/browser_select_option"),
    ("create a new Linear issue", "linear/create_issue"),
    ("list my issues in Linear", "linear/list_issues"),
    ("comment on a Linear issue", "linear/create_comment"),
    ("list the cycles of a Linear team", "linear/list_cycles"),
    ("create a project in Linear", "linear/create_project"),
    ("list issue labels in Linear", "linear/list_issue_labels"),
    ("list the teams in the Linear workspace", "linear/list_teams"),
    ("query a Notion database", "notion/API-post-database-query"),
    ("search Notion pages by title", "notion/API-post-search"),
    ("create a Notion page", "notion/API-post-page"),
    ("append block children to a Notion page", "notion/API-patch-block-children"),
    ("update the properties of a Notion page", "notion/API-patch-page"),
    ("create a database in Notion", "notion/API-create-a-database"),
    ("run raw SQL on the Supabase Postgres database", "supabase/execute_sql"),
    ("apply a migration to the Supabase database", "supabase/apply_migration"),
    ("list the tables in the Supabase database", "supabase/list_tables"),
    ("pause a Supabase project", "supabase/pause_project"),
    ("get the logs of a Supabase project", "supabase/get_logs"),
    ("generate TypeScript types for a Supabase project", "supabase/generate_typescript_types"),
    ("list Supabase edge functions", "supabase/list_edge_functions"),
    ("get the anonymous API key of a Supabase project", "supabase/get_anon_key"),
    ("details of a Sentry issue", "sentry/get_issue_details"),
    ("analyze a production error root cause with Seer", "sentry/analyze_issue_with_seer"),
    ("count Sentry events matching a query", "sentry/search_events"),
    ("find recent releases in Sentry", "sentry/find_releases"),
    ("resolve or ignore a Sentry issue", "sentry/update_issue"),
    ("create a DSN for a Sentry project", "sentry/create_dsn"),
    ("read a text file from the file system", "filesystem/read_text_file"),
    ("make line-based edits to a text file", "filesystem/edit_file"),
    ("recursive directory tree as JSON", "filesystem/directory_tree"),
    ("move or rename a file", "filesystem/move_file"),
    ("search for files matching a glob pattern", "filesystem/search_files"),
    ("show the git working tree status", "git/git_status"),
    ("show unstaged changes in the git working directory", "git/git_diff_unstaged"),
    ("record changes to the git repository with a commit", "git/git_commit"),
    ("show the git commit log", "git/git_log"),
    ("switch git branches", "git/git_checkout"),
    ("create entities in the knowledge graph", "memory/create_entities"),
    ("add observations to entities in the knowledge graph", "memory/add_observations"),
    ("read the entire knowledge graph", "memory/read_graph"),
    ("post a message to a Slack channel", "slack/slack_post_message"),
    ("reply to a Slack thread", "slack/slack_reply_to_thread"),
    ("add an emoji reaction to a Slack message", "slack/slack_add_reaction"),
    ("recent messages of a Slack channel", "slack/slack_get_channel_history"),
]


def queries_for(servers: list[tuple[str, list[dict[str, Any]]]]) -> list[tuple[str, str]]:
    present = {server for server, _ in servers}
    return [(query, target) for query, target in QUERIES if target.split("/", 1)[0] in present]
