/** Sweeps: built by the dashboard's alerts-and-actions work (issue 17, points 3 and 4). */
export function SweepsPage() {
  return (
    <section>
      <h1>Sweeps</h1>
    </section>
  );
}
