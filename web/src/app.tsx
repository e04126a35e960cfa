import { useEffect, useState } from "preact/hooks";
import { needsSignIn } from "./auth";
import { Link } from "./components";
import { AlertsPage } from "./pages/alerts";
import { DeliveriesPage } from "./pages/deliveries";
import { FleetPage } from "./pages/fleet";
import { ModelPage } from "./pages/model";
import { SweepsPage } from "./pages/sweeps";
import { useLocation } from "./router";
import { SignInButton, SignInForm } from "./sign-in";
import { useShared } from "./store";
import { applyTheme, theme, toggleTheme } from "./theme";

const NAV = [
  { href: "/", label: "Fleet", match: (p: string) => p === "/" || p.startsWith("/models/") },
  { href: "/alerts", label: "Alerts", match: (p: string) => p === "/alerts" },
  { href: "/deliveries", label: "Deliveries", match: (p: string) => p === "/deliveries" },
  { href: "/sweeps", label: "Sweeps", match: (p: string) => p === "/sweeps" },
];

function Page({ path }: { path: string }) {
  if (path === "/") return <FleetPage />;
  const model = /^\/models\/([^/]+)\/?$/.exec(path);
  if (model?.[1]) return <ModelPage name={decodeURIComponent(model[1])} />;
  if (path === "/alerts") return <AlertsPage />;
  if (path === "/deliveries") return <DeliveriesPage />;
  if (path === "/sweeps") return <SweepsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no view at <code>{path}</code>. <Link href="/">Back to the fleet</Link>
      </p>
    </section>
  );
}

export function App() {
  const { path } = useLocation();
  const currentTheme = useShared(theme);
  const mustSignIn = useShared(needsSignIn);
  const [signingIn, setSigningIn] = useState(false);
  useEffect(() => applyTheme(currentTheme), [currentTheme]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Tenure
        </Link>
        <nav aria-label="Views">
          {NAV.map((item) => (
            <Link key={item.href} href={item.href} class={item.match(path) ? "active" : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <div class="top-actions">
          <button
            type="button"
            onClick={toggleTheme}
            aria-label={`Switch to ${currentTheme === "dark" ? "light" : "dark"} theme`}
            title="Light or dark"
          >
            {currentTheme === "dark" ? "☀ Light" : "☾ Dark"}
          </button>
          <SignInButton onSignIn={() => setSigningIn(true)} />
        </div>
      </header>
      <main id="main">
        {mustSignIn || signingIn ? (
          <SignInForm
            reason={
              mustSignIn
                ? "This server needs a token to read."
                : "Acting (reviews, rollbacks, retries) needs a token."
            }
            onDone={() => setSigningIn(false)}
          />
        ) : (
          <Page path={path} />
        )}
      </main>
    </>
  );
}
