/** Deliveries: built by the dashboard's alerts-and-actions work (issue 17, points 3 and 4). */
export function DeliveriesPage() {
  return (
    <section>
      <h1>Deliveries</h1>
    </section>
  );
}
