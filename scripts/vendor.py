"""Copy the browser assets npm installed into app/static/vendor.

NHS.UK frontend's stylesheet loads the Frutiger font from assets.nhs.uk;
pages here load nothing from another origin (and the Content-Security-Policy
would refuse it), so those @font-face rules are dropped and the stylesheet's
own Arial fallback is used."""

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "app" / "static" / "vendor"

FILES = {
    "nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js": "nhsuk-frontend.min.js",
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "sortablejs/Sortable.min.js": "Sortable.min.js",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
}
FOREIGN_FONT = re.compile(r"@font-face\{[^}]*url\(https?://[^}]*\}")


def main() -> None:
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    VENDOR.mkdir(parents=True)
    for source, target in FILES.items():
        shutil.copyfile(MODULES / source, VENDOR / target)
    css = (MODULES / "nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css").read_text()
    (VENDOR / "nhsuk-frontend.min.css").write_text(FOREIGN_FONT.sub("", css))
    shutil.copytree(MODULES / "nhsuk-frontend/dist/nhsuk/assets", VENDOR / "assets")
    print(f"vendor assets in {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
