module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable("gadgets", {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      name: { type: Sequelize.STRING, allowNull: false },
    });
    await queryInterface.bulkInsert("gadgets", [{ name: "from sequelize-cli" }]);
  },
  async down(queryInterface) {
    await queryInterface.dropTable("gadgets");
  },
};
