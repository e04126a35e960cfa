/** Alerts: built by the dashboard's alerts-and-actions work (issue 17, points 3 and 4). */
export function AlertsPage() {
  return (
    <section>
      <h1>Alerts</h1>
    </section>
  );
}
